// The numerical modules of an x86-64 build are compiled for Haswell (AVX2 + FMA; see
// Package.swift). On an older CPU they would die on an illegal instruction somewhere in
// a kernel; this module, compiled without CPU flags, says why at start-up instead.

import Foundation

public enum CPUCheck {
    /// The CPU features the build's kernels were compiled for and this CPU lacks ([] when
    /// all are present or the CPU cannot be inspected).
    public static func missingFeatures(required: [String] = ["avx2", "fma"], cpuinfo: String? = nil) -> [String] {
        guard let text = cpuinfo ?? (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        let flags = Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
        return required.filter { !flags.contains($0) }
    }

    /// Exits with status 2 and a message naming the missing features when the build needs them.
    public static func requireBuildFeatures(program: String) {
        #if ATTNLAB_NEEDS_AVX2_FMA
        let missing = missingFeatures()
        guard missing.isEmpty else {
            FileHandle.standardError.write(Data("""
                error: \(program) was built for x86-64 with AVX2 and FMA (-target-cpu haswell), and this CPU lacks \
                \(missing.joined(separator: ", ")); rebuild for any x86-64 with: ATTNLAB_GENERIC_CPU=1 swift build -c release\n
                """.utf8))
            exit(2)
        }
        #endif
    }
}
