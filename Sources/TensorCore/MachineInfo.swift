// What a measurement ran on: CPU model, cores, OpenBLAS core and threads.
// Benchmarks and result provenance record these next to every number.

import Foundation

public struct MachineInfo: Codable, Sendable, Equatable {
    public var cpuModel: String
    public var logicalCores: Int
    public var blasCore: String
    public var blasThreads: Int
    /// OPENBLAS_CORETYPE as set in the environment ("" when unset).
    public var blasCoreTypeEnv: String

    public static func current() -> MachineInfo {
        MachineInfo(
            cpuModel: cpuModelName(),
            logicalCores: ProcessInfo.processInfo.activeProcessorCount,
            blasCore: BLAS.coreName,
            blasThreads: BLAS.threads,
            blasCoreTypeEnv: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? ""
        )
    }

    /// The "model name" line of /proc/cpuinfo, or "unknown" off Linux.
    static func cpuModelName() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }
}
