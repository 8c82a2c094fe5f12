import CPUCheck
import Testing

@Suite("Start-up CPU check")
struct CPUCheckTests {
    @Test func namesTheMissingFeatures() {
        let old = "processor\t: 0\nflags\t\t: fpu sse sse2 avx\nbogomips\t: 1\n"
        #expect(CPUCheck.missingFeatures(cpuinfo: old) == ["avx2", "fma"])
        let haswell = "flags\t\t: fpu sse avx avx2 fma bmi2\n"
        #expect(CPUCheck.missingFeatures(cpuinfo: haswell).isEmpty)
        // No flags line (another OS or architecture): nothing can be said, nothing is refused.
        #expect(CPUCheck.missingFeatures(cpuinfo: "Features\t: fp asimd\n").isEmpty)
    }

}
