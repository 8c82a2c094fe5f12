import ArgumentParser
import TensorCore

/// `attnlab info`: the machine and OpenBLAS configuration results will be recorded with.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the CPU, the OpenBLAS core and the thread count in use."
    )

    @Option(help: "OpenBLAS threads to use (default: OPENBLAS_NUM_THREADS or all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 {
            throw ValidationError("--threads \(threads) is invalid: use a whole number of at least 1")
        }
    }

    func run() throws {
        if let threads { BLAS.setThreads(threads) }
        let m = MachineInfo.current()
        print("attnlab \(AttnLabVersion.string)")
        print("cpu: \(m.cpuModel) (\(m.logicalCores) logical cores)")
        print("openblas core: \(m.blasCore)\(m.blasCoreTypeEnv.isEmpty ? "" : " (OPENBLAS_CORETYPE=\(m.blasCoreTypeEnv))")")
        print("openblas threads: \(m.blasThreads)")
        print("openblas config: \(BLAS.config)")
    }
}
