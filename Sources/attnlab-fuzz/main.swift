// attnlab-fuzz: libFuzzer targets for AttnLab's readers of untrusted files (FuzzTargets.swift).
//
// Build (debug: assertions on, and the fastest build; release keeps the overflow and
// precondition traps the fuzzer looks for, but not the debug assertions):
//   swift build --build-path .build-fuzz --product attnlab-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -DATTNLAB_FUZZ
// Run:
//   ATTNLAB_FUZZ_TARGET=safetensors .build-fuzz/debug/attnlab-fuzz CORPUS_DIR -max_total_time=60
// or `make fuzz` / `make fuzz-smoke` (scripts/fuzz.sh). Targets: safetensors,
// attention-config, published-model, experiment-spec.

import Foundation

#if ATTNLAB_FUZZ

/// Chosen once, on the first input (exits naming the valid targets if the variable is wrong).
let selectedTarget = FuzzTarget.fromEnvironment()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    selectedTarget.run(data)
    return 0
}

/// libFuzzer's driver, for when the program's own main runs rather than libFuzzer's
/// (SwiftPM links an executable's main under its own name).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

_ = selectedTarget  // check the variable before libFuzzer starts
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzTestOneInput))

#else

FileHandle.standardError.write(Data("""
    attnlab-fuzz was built without the fuzzer. Build it with libFuzzer and AddressSanitizer:
      swift build --build-path .build-fuzz --product attnlab-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DATTNLAB_FUZZ
    then run a target (\(FuzzTarget.validNames)):
      ATTNLAB_FUZZ_TARGET=safetensors .build-fuzz/debug/attnlab-fuzz CORPUS_DIR -max_total_time=60
    or use `make fuzz` / `make fuzz-smoke` (scripts/fuzz.sh).

    """.utf8))
exit(2)

#endif
