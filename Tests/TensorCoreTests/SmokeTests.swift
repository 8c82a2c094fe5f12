import Testing
import TensorCore
import TestSupport

@Test func matmulSmallHandComputed() {
    // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]
    let a = Tensor(shape: [2, 2], data: [1, 2, 3, 4])
    let b = Tensor(shape: [2, 2], data: [5, 6, 7, 8])
    let c = Tensor.matmul(a, b)
    let r = compareClose("c", [19, 22, 43, 50], c.data)
    #expect(r.ok, "\(r)")
}
