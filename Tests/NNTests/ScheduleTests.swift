import Testing
import NN

@Test func warmupCosineEndpoints() {
    let s = WarmupCosine(peak: 1e-3, floor: 1e-5, warmupSteps: 10, totalSteps: 110)
    #expect(abs(s.learningRate(step: 0) - 1e-4) < 1e-10)
    #expect(s.learningRate(step: 9) == 1e-3)
    #expect(abs(s.learningRate(step: 60) - (1e-5 + (1e-3 - 1e-5) * 0.5)) < 1e-9)
    #expect(s.learningRate(step: 110) == 1e-5)
}
