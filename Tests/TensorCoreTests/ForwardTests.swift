// Forward values of the ops against plain-loop references and hand-computed cases.

import Foundation
import Testing
import TensorCore
import TestSupport

/// Plain-loop reference of op(A)·op(B) for one [rows, cols] matrix pair.
private func naiveMatmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var acc: Double = 0
            for p in 0..<k {
                let av = ta ? a[p * m + i] : a[i * k + p]
                let bv = tb ? b[j * k + p] : b[p * n + j]
                acc += Double(av) * Double(bv)
            }
            c[i * n + j] = Float(acc)
        }
    }
    return c
}

@Suite("Forward values")
struct ForwardTests {
    @Test(arguments: [(1, 5, 3), (7, 4, 9), (63, 16, 1), (1, 1, 1), (2, 0, 3)])
    func matmulMatchesNaive(m: Int, k: Int, n: Int) {
        var rng = Xoshiro256StarStar(seed: UInt64(m * 100 + k * 10 + n))
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Tensor.randn(ta ? [k, m] : [m, k], rng: &rng)
            let b = Tensor.randn(tb ? [n, k] : [k, n], rng: &rng)
            let c = Tensor.matmul(a, b, transposeA: ta, transposeB: tb)
            #expect(c.shape == [m, n])
            let r = compareClose("M\(m)-K\(k)-N\(n) tA=\(ta) tB=\(tb)",
                                 naiveMatmul(a.data, b.data, m: m, n: n, k: k, ta: ta, tb: tb), c.data)
            #expect(r.ok, "\(r)")
        }
    }

    @Test func batchedAndSharedMatmul() {
        var rng = Xoshiro256StarStar(seed: 3)
        let a = Tensor.randn([2, 3, 5, 4], rng: &rng)  // [B, H, T, D]
        let b = Tensor.randn([2, 3, 5, 4], rng: &rng)
        let scores = Tensor.matmul(a, b, transposeB: true)  // [B, H, T, T]
        #expect(scores.shape == [2, 3, 5, 5])
        for batch in 0..<6 {
            let ref = naiveMatmul(Array(a.data[(batch * 20)..<((batch + 1) * 20)]), Array(b.data[(batch * 20)..<((batch + 1) * 20)]),
                                  m: 5, n: 5, k: 4, ta: false, tb: true)
            let r = compareClose("batch \(batch)", ref, Array(scores.data[(batch * 25)..<((batch + 1) * 25)]))
            #expect(r.ok, "\(r)")
        }
        let w = Tensor.randn([6, 4], rng: &rng)  // [out, in]
        let y = Tensor.matmul(a, w, transposeB: true)
        #expect(y.shape == [2, 3, 5, 6])
        let r = compareClose("shared", naiveMatmul(a.data, w.data, m: 30, n: 6, k: 4, ta: false, tb: true), y.data)
        #expect(r.ok, "\(r)")
    }

    @Test func broadcastingValues() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let bias = Tensor(shape: [3], data: [10, 20, 30])
        let col = Tensor(shape: [2, 1], data: [2, 4])
        #expect((a + bias).data == [11, 22, 33, 14, 25, 36])
        #expect((a * col).data == [2, 4, 6, 16, 20, 24])
        #expect((a / col).data == [0.5, 1, 1.5, 1, 1.25, 1.5])
        #expect((col - bias).shape == [2, 3])
        #expect((col - bias).data == [-8, -18, -28, -6, -16, -26])
        // The fast paths: b repeating along leading axes, and one value per row.
        #expect((a - Tensor(shape: [1, 3], data: [1, 1, 1])).data == [0, 1, 2, 3, 4, 5])
        #expect((a / Tensor(shape: [2, 1], data: [1, 2])).data == [1, 2, 3, 2, 2.5, 3])
        let a3 = Tensor(shape: [2, 2, 2], data: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect((a3 * Tensor(shape: [2, 2], data: [1, 0, 0, 1])).data == [1, 0, 0, 4, 5, 0, 0, 8])
        #expect((a3 / Tensor(shape: [2, 2, 1], data: [1, 2, 4, 8])).data == [1, 2, 1.5, 2, 1.25, 1.5, 0.875, 1])
    }

    @Test func reductionsAndShapes() {
        let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        #expect(x.sum(axis: 0).data == [5, 7, 9])
        #expect(x.sum(axis: 1, keepDims: true).shape == [2, 1])
        #expect(x.mean(axis: 1).data == [2, 5])
        #expect(x.sum().item() == 21)
        #expect(x.transposed(0, 1).data == [1, 4, 2, 5, 3, 6])
        #expect(x.slice(axis: 1, 1..<3).data == [2, 3, 5, 6])
        let parts = x.split(axis: 1, sizes: [2, 1])
        #expect(Tensor.concat(parts, axis: 1).data == x.data)
        #expect(x.reshaped([3, -1]).shape == [3, 2])
        #expect(x.cumsum(axis: 1).data == [1, 3, 6, 4, 9, 15])
    }

    @Test func softmaxIsStableAndMasked() {
        // Large logits would overflow exp without the max subtraction.
        let x = Tensor(shape: [1, 3], data: [1000, 1001, 1002])
        let y = x.softmax()
        let e = [exp(-2.0), exp(-1.0), 1.0], s = e.reduce(0, +)
        let r = compareClose("stable", e.map { Float($0 / s) }, y.data, atol: 1e-6)
        #expect(r.ok, "\(r)")
        // Causal mask: row t puts zero weight above the diagonal; rows sum to 1.
        var rng = Xoshiro256StarStar(seed: 4)
        let scores = Tensor.randn([2, 4, 4], rng: &rng)
        let p = scores.softmax(mask: .causalMask(4))
        for b in 0..<2 {
            for t in 0..<4 {
                let row = (0..<4).map { p.data[(b * 4 + t) * 4 + $0] }
                #expect(abs(row.reduce(0, +) - 1) < 1e-6)
                for s in (t + 1)..<4 { #expect(row[s] == 0) }
            }
        }
        // A fully masked row gives zeros, not NaN.
        let dead = Tensor(shape: [1, 2], data: [-.infinity, -.infinity]).softmax()
        #expect(dead.data == [0, 0])
    }

    @Test func crossEntropyHandComputed() {
        // Row 0: logits [0, ln 3] → p(target 1) = 3/4, loss ln(4/3).
        // Row 1: logits [ln 2, 0] → p(target 1) = 1/3, loss ln 3.  Row 2 ignored.
        let logits = Tensor(shape: [3, 2], data: [0, Float(log(3.0)), Float(log(2.0)), 0, 5, -5])
        let plain = Tensor.crossEntropy(logits: logits, targets: [1, 1, -100])
        #expect(abs(Double(plain.item()) - (log(4.0 / 3) + log(3.0)) / 2) < 1e-6)
        let weighted = Tensor.crossEntropy(logits: logits, targets: [1, 1, -100], weights: [3, 1, 100])
        #expect(abs(Double(weighted.item()) - (3 * log(4.0 / 3) + log(3.0)) / 4) < 1e-6)
        let none = Tensor.crossEntropy(logits: logits, targets: [-100, -100, -100])
        #expect(none.item() == 0)
        // logSoftmax agrees with the loss.
        let lsm = logits.logSoftmax()
        #expect(abs(Double(-lsm.data[1]) - log(4.0 / 3)) < 1e-6)
    }

    @Test func rmsNormMatchesFormula() {
        let x = Tensor(shape: [1, 4], data: [1, 2, 3, 4])
        let w = Tensor(shape: [4], data: [1, 1, 2, 0.5])
        let y = Tensor.rmsNorm(x, weight: w, eps: 0)
        let rms = Float((30.0 / 4).squareRoot())
        let r = compareClose("rms", [1 / rms, 2 / rms, 6 / rms, 2 / rms], y.data, atol: 1e-6)
        #expect(r.ok, "\(r)")
    }

    @Test func embeddingGathersRows() {
        let table = Tensor(shape: [3, 2], data: [0, 1, 10, 11, 20, 21])
        let e = Tensor.embedding(table, ids: [2, 0, 2], idsShape: [1, 3])
        #expect(e.shape == [1, 3, 2])
        #expect(e.data == [20, 21, 0, 1, 20, 21])
    }

    @Test func ropeHalfSplitRotatesPairsAndIsRelative() {
        // D = 4, half-split: pairs (0, 2) with θ0 = 1 and (1, 3) with θ1 = base^(-1/2) = 0.01.
        let x = Tensor(shape: [1, 1, 1, 4], data: [1, 0, 0, 1])
        let y = x.rope(positionOffset: 3, base: 10000)
        let a0 = 3.0, a1 = 3.0 * 0.01
        let expected = [cos(a0), -sin(a1), sin(a0), cos(a1)].map(Float.init)
        let r = compareClose("rope", expected, y.data, atol: 1e-6)
        #expect(r.ok, "\(r)")
        // q·k after RoPE depends only on the distance: positions (5, 2) and (9, 6) agree.
        var rng = Xoshiro256StarStar(seed: 5)
        let q = Tensor.randn([1, 1, 1, 8], rng: &rng), k = Tensor.randn([1, 1, 1, 8], rng: &rng)
        func dot(_ pq: Int, _ pk: Int) -> Float {
            let a = q.rope(positionOffset: pq), b = k.rope(positionOffset: pk)
            var total: Float = 0
            for i in 0..<8 { total += a.data[i] * b.data[i] }
            return total
        }
        #expect(abs(dot(5, 2) - dot(9, 6)) < 1e-4)
        // Rotation preserves the norm; the interleaved pairing too.
        let z = q.rope(positionOffset: 1234, pairing: .interleaved)
        let normQ: Float = q.data.map { $0 * $0 }.reduce(0, +)
        let normZ: Float = z.data.map { $0 * $0 }.reduce(0, +)
        #expect(abs(normQ - normZ) < 1e-4)
        // Offset continues positions: rope of token t at offset o equals token t+o at 0.
        let seq = Tensor.randn([1, 6, 2, 4], rng: &rng)
        let whole = seq.rope()
        let tail = seq.slice(axis: 1, 4..<6).rope(positionOffset: 4)
        let r2 = compareClose("offset", Array(whole.data[(4 * 8)...]), tail.data, atol: 1e-6)
        #expect(r2.ok, "\(r2)")
    }

    @Test func geluSiluEluValues() {
        let x = Tensor(shape: [3], data: [-1, 0, 2])
        let gelu = [-0.15865525, 0, 1.9544997].map(Float.init)  // x·Φ(x)
        #expect(compareClose("gelu", gelu, x.gelu().data, atol: 1e-6).ok)
        let silu = [-1 / (1 + exp(1.0)), 0, 2 / (1 + exp(-2.0))].map(Float.init)
        #expect(compareClose("silu", silu, x.silu().data, atol: 1e-6).ok)
        #expect(compareClose("elu", [Float(exp(-1.0) - 1), 0, 2], x.elu().data, atol: 1e-6).ok)
    }
}

@Suite("Autograd semantics")
struct AutogradTests {
    @Test func leafGradientsAccumulateAcrossBackwardCalls() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let y = (x * x).sum()  // dy/dx = 2x
        y.backward()
        #expect(x.grad == [2, 4])
        (x * 3).sum().backward()
        #expect(x.grad == [5, 7])
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func reusedNodesSumTheirPaths() {
        // z = h·h + h with h = 2x: dz/dx = (2h + 1)·2.
        let x = Tensor(shape: [1], data: [3], requiresGrad: true)
        let h = x * 2
        (h * h + h).sum().backward()
        #expect(x.grad == [26])
        // A second backward through a graph sharing h does not double count h's gradient.
        x.zeroGrad()
        let shared = x * 2
        (shared * 1).sum().backward()
        (shared * 1).sum().backward()
        #expect(x.grad == [4])
    }

    @Test func inferenceModeRecordsNothing() {
        let w = Tensor(shape: [2, 2], data: [1, 2, 3, 4], requiresGrad: true)
        let y = Autograd.inference { Tensor.matmul(w, w).sum() }
        #expect(!y.requiresGrad)
        #expect(Autograd.isRecording)
        let z = Tensor.matmul(w, w).sum()
        #expect(z.requiresGrad)
    }

    @Test func constantsGetNoGradient() {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let c = Tensor(shape: [2], data: [5, 6])
        (x * c).sum().backward()
        #expect(x.grad == [5, 6])
        #expect(c.grad == nil)
    }

    @Test func sameSeedSameTensors() {
        var a = Xoshiro256StarStar(seed: 42), b = Xoshiro256StarStar(seed: 42)
        let ta = Tensor.randn([3, 5], rng: &a), tb = Tensor.randn([3, 5], rng: &b)
        #expect(ta.data.map(\.bitPattern) == tb.data.map(\.bitPattern))
    }
}

@Suite("Autograd memory")
struct AutogradMemoryTests {
    /// Every op's graph is freed when its result goes out of scope (an op whose backward
    /// captured its own output strongly would leak every training step).
    @Test func graphsOfEveryOpAreFreed() {
        weak var weakLeaf: Tensor?
        var weakNodes: [() -> Tensor?] = []
        do {
            var rng = Xoshiro256StarStar(seed: 1)
            let x = randomInput([2, 3, 2, 4], rng: &rng)
            let w = randomInput([4, 4], rng: &rng)
            weakLeaf = x
            var nodes: [Tensor] = []
            func keep(_ t: Tensor) -> Tensor { nodes.append(t); return t }
            let h = keep(Tensor.matmul(keep(x.rope(positionOffset: 1)), w, transposeB: true))
            let p = keep(keep(h.permuted([0, 2, 1, 3])).softmax(mask: .causalMask(4)))
            let e = keep(keep(keep(p.exp()).log()).sqrt() + keep(p.rsqrt()) * keep(p.elu()) - keep(p.silu()) / keep(p.gelu() + 2))
            let r = keep(Tensor.rmsNorm(keep(e.reshaped([12, 4])), weight: keep(Tensor.full([4], 1, requiresGrad: true))))
            let c = keep(Tensor.concat(keep(r.cumsum(axis: 0)).split(axis: 1, sizes: [1, 3]), axis: 1))
            let emb = keep(Tensor.embedding(c, ids: [0, 3, 3]))
            let loss = keep(Tensor.crossEntropy(logits: keep(emb.logSoftmax()), targets: [1, 2, 0]) + keep(c.mean(axis: 0).sum()))
            loss.backward()
            weakNodes = nodes.map { n in { [weak n] in n } }
        }
        #expect(weakLeaf == nil, "the input tensor outlived its graph")
        let alive = weakNodes.filter { $0() != nil }.compactMap { $0()?.op }
        #expect(alive.isEmpty, "graph nodes still alive (a retain cycle): \(alive)")
    }
}
