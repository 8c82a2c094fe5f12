// safetensors I/O: round trips, byte-exact agreement with the reference writer,
// F16/BF16 decoding of hand-made bit patterns, atomic writes, and one test case per
// kind of malformed file, each checking the exact error and that its message names
// the offending value.

import Foundation
import Testing
import TensorCore

// MARK: - Helpers for hand-made files

/// A file from its parts: the header length (the true one unless overridden), the header bytes, the data.
private func handMade(_ header: [UInt8], data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
    let n = headerLength ?? UInt64(header.count)
    return withUnsafeBytes(of: n.littleEndian, Array.init) + header + data
}

private func handMade(json header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
    handMade(Array(header.utf8), data: data, headerLength: headerLength)
}

/// One F32 tensor entry of a header.
private func entry(_ name: String, _ dtype: String = "F32", shape: String, offsets: String) -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
}

/// The error `decode` throws, or nil if it succeeds; any other error type fails the test.
private func decodeError(_ bytes: [UInt8]) -> SafeTensorsError? {
    do {
        _ = try SafeTensorsFile.decode(bytes)
        return nil
    } catch let error as SafeTensorsError {
        return error
    } catch {
        Issue.record("decode threw a \(type(of: error)), not a SafeTensorsError: \(error)")
        return nil
    }
}

private func bytes(fromHex hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = hex.makeIterator()
    while let hi = it.next(), let lo = it.next() {
        out.append(UInt8(String([hi, lo]), radix: 16)!)
    }
    return out
}

private func makeTempDir() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attnlab-st-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

private func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    return (0 ... haystack.count - needle.count).first { haystack[$0 ..< $0 + needle.count].elementsEqual(needle) }
}

// MARK: - Round trips and exact bytes

@Test func roundTripThroughFileKeepsShapesAndBits() throws {
    var rng = Xoshiro256StarStar(seed: 7)
    let shapes: [(String, [Int])] = [
        ("scalar", []), ("empty", [0, 3]), ("empty.inner", [2, 0, 4]), ("one", [1]), ("seven", [7]),
        ("odd.3x5x2", [3, 5, 2]), ("ones", [1, 1, 1, 1]), ("block.63x7", [63, 7]),
    ]
    var tensors = shapes.map { (name: $0.0, tensor: Tensor.randn($0.1, rng: &rng)) }
    // Values whose bits a lossy path would change: signed zero, subnormal, infinities, a NaN with payload.
    tensors.append((name: "special", tensor: Tensor(shape: [6], data: [
        -0.0, Float.leastNonzeroMagnitude, .infinity, -.infinity, Float(bitPattern: 0x7FC0_1234), .greatestFiniteMagnitude,
    ])))

    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("model.safetensors").path
    try SafeTensorsFile(tensors: tensors, metadata: ["format": "pt"]).write(to: path)
    let back = try SafeTensorsFile.read(from: path)

    #expect(Set(back.names) == Set(tensors.map(\.name)))
    #expect(back.metadata == ["format": "pt"])
    for (name, original) in tensors {
        let t = try back.tensor(named: name, expectedShape: original.shape)
        #expect(t.shape == original.shape, "\(name)")
        #expect(bits(t.data) == bits(original.data), "\(name): values changed in the round trip")
    }
}

@Test func encodeMatchesReferenceWriterByteForByte() throws {
    // Golden bytes from the reference writer (safetensors 0.8.0, numpy 2.4.6):
    //   import numpy as np; from safetensors.numpy import save
    //   b = save({"w": np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -0.25]], np.float32),
    //             "b": np.array(1.5, np.float32), "e": np.zeros((0, 3), np.float32)},
    //            metadata={"format": "pt"})
    //   print(b.hex())
    let golden = bytes(fromHex:
        "c8000000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c2262223a7b2264747970"
        + "65223a22463332222c227368617065223a5b5d2c22646174615f6f666673657473223a5b302c345d7d2c2265223a7b2264"
        + "74797065223a22463332222c227368617065223a5b302c335d2c22646174615f6f666673657473223a5b342c345d7d2c22"
        + "77223a7b226474797065223a22463332222c227368617065223a5b322c335d2c22646174615f6f666673657473223a5b34"
        + "2c32385d7d7d20202020200000c03f0000803f000000c00000003f0000404000000000000080be")
    let file = try SafeTensorsFile(tensors: [
        "w": Tensor(shape: [2, 3], data: [1.0, -2.0, 0.5, 3.0, 0.0, -0.25]),
        "b": Tensor.scalar(1.5),
        "e": Tensor.zeros([0, 3]),
    ], metadata: ["format": "pt"])
    #expect(Array(file.encode()) == golden)
    #expect(try SafeTensorsFile.decode(golden) == file)
}

@Test func escapingMatchesReferenceWriterByteForByte() throws {
    // Golden bytes from the reference writer (safetensors 0.8.0, numpy 2.4.6):
    //   b = save({"q\"uote\\d é": np.array([2.0], np.float32)},
    //            metadata={"k\n\t\r\b\f": "v\u0001\u001f é/✓"})
    //   print(b.hex())
    let golden = bytes(fromHex:
        "78000000000000007b225f5f6d657461646174615f5f223a7b226b5c6e5c745c725c625c66223a22765c75303030315c7530"
        + "30316620c3a92fe29c93227d2c22715c22756f74655c5c6420c3a9223a7b226474797065223a22463332222c227368617065"
        + "223a5b315d2c22646174615f6f666673657473223a5b302c345d7d7d00000040")
    let file = try SafeTensorsFile(tensors: ["q\"uote\\d é": Tensor(shape: [1], data: [2.0])],
                                   metadata: ["k\n\t\r\u{08}\u{0C}": "v\u{01}\u{1F} é/✓"])
    #expect(Array(file.encode()) == golden)
    #expect(try SafeTensorsFile.decode(golden) == file)
}

@Test func handBuiltFileDecodes() throws {
    // Header written by hand, tensors not in name order, "b" stored before "a".
    let header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[4,20]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}"
    let data: [UInt8] = [
        0x00, 0x00, 0x20, 0xC1,  // b = -10.0  (0xC1200000)
        0x00, 0x00, 0x80, 0x3F,  // a[0,0] = 1.0   (0x3F800000)
        0x00, 0x00, 0x00, 0xC0,  // a[0,1] = -2.0  (0xC0000000)
        0x00, 0x00, 0x00, 0x3F,  // a[1,0] = 0.5   (0x3F000000)
        0xDB, 0x0F, 0x49, 0x40,  // a[1,1] = 3.1415927 (0x40490FDB, π rounded to nearest)
    ]
    let file = try SafeTensorsFile.decode(handMade(json: header, data: data))
    #expect(file.names == ["a", "b"])
    #expect(file.metadata.isEmpty)
    #expect(file["a"]?.shape == [2, 2])
    #expect(file["a"]?.values == [1.0, -2.0, 0.5, 3.1415927])
    #expect(file["b"]?.shape == [])
    #expect(file["b"]?.values == [-10.0])
}

@Test func uncoveredDataBytesAndEmptyTensorsAreAccepted() throws {
    // 4 bytes of gap before "a", 4 after it, and two empty tensors pointing into "a": harmless.
    let header = "{" + entry("a", shape: "[1]", offsets: "[4,8]") + ","
        + entry("e1", shape: "[0]", offsets: "[4,4]") + "," + entry("e2", shape: "[3,0]", offsets: "[6,6]") + "}"
    let data: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x40, 0x40, 0xEE, 0xEE, 0xEE, 0xEE]  // a = 3.0
    let file = try SafeTensorsFile.decode(handMade(json: header, data: data))
    #expect(file["a"]?.values == [3.0])
    #expect(file["e1"]?.shape == [0])
    #expect(file["e2"]?.shape == [3, 0])
    #expect(file["e2"]?.values == [])
}

/// Fuzzing regression (docs/reliability.md): shape [461168601, 84827387904, 0] is an empty
/// tensor, but the element count multiplied the first two extents before reaching the 0
/// and trapped on the overflow. A zero extent now makes the count 0 first.
@Test func fuzzCrashEmptyTensorWithHugeExtentsDecodes() throws {
    let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/safetensors")
    let file = try SafeTensorsFile.read(from: corpus.appendingPathComponent("crash-47caa70b6042868dee086b1935f60e601699ee23").path)
    #expect(file["a"]?.shape == [461168601, 84827387904, 0] && file["a"]?.values == [])
    #expect(try SafeTensorsFile.decode(file.encode()) == file)
}

// MARK: - F16 and BF16

@Test func f16DecodesKnownValues() throws {
    let cases: [(bits: UInt16, value: Float)] = [
        (0x3C00, 1.0), (0xC000, -2.0), (0x3800, 0.5), (0x7BFF, 65504), (0x3555, 0.333251953125),
        (0x0001, 0x1p-24),                  // smallest subnormal
        (0x03FF, 1023 * 0x1p-24),           // largest subnormal
        (0x0400, 0x1p-14),                  // smallest normal
        (0x0000, 0.0), (0x8000, -0.0), (0x7C00, .infinity), (0xFC00, -.infinity),
    ]
    // Little-endian by hand: low byte first.
    var data: [UInt8] = []
    for c in cases { data += [UInt8(c.bits & 0xFF), UInt8(c.bits >> 8)] }
    data += [0x00, 0x7E]  // NaN
    let n = cases.count + 1
    let header = "{" + entry("h", "F16", shape: "[\(n)]", offsets: "[0,\(2 * n)]") + "}"
    let values = try SafeTensorsFile.decode(handMade(json: header, data: data)).tensor(named: "h").data
    try #require(values.count == n)
    for (i, c) in cases.enumerated() {
        #expect(values[i].bitPattern == c.value.bitPattern, "F16 0x\(String(c.bits, radix: 16)): got \(values[i]), expected \(c.value)")
    }
    #expect(values[n - 1].isNaN)
}

#if !(os(macOS) && arch(x86_64))  // Float16 is unavailable on Intel macOS
@Test func f16MatchesFloat16ForEveryBitPattern() throws {
    let all = (0 ... UInt16.max).map { $0 }
    let data = all.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    let header = "{" + entry("all", "F16", shape: "[65536]", offsets: "[0,131072]") + "}"
    let values = try SafeTensorsFile.decode(handMade(json: header, data: data)).tensor(named: "all").data
    try #require(values.count == 65536)
    var mismatches: [String] = []
    for (i, h) in all.enumerated() {
        let expected = Float(Float16(bitPattern: h))
        // NaN payload handling differs between conversion routines; NaN-ness and sign must agree.
        let same = expected.isNaN
            ? values[i].isNaN && values[i].sign == expected.sign
            : values[i].bitPattern == expected.bitPattern
        if !same { mismatches.append("0x\(String(h, radix: 16)): got \(values[i]), expected \(expected)") }
    }
    #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
}
#endif

@Test func bf16DecodesKnownValues() throws {
    let cases: [(bits: UInt16, value: Float)] = [
        (0x3F80, 1.0), (0xC000, -2.0), (0x3F00, 0.5), (0x4049, 3.140625), (0x4780, 65536),
        (0x0001, Float(bitPattern: 0x0001_0000)),  // smallest subnormal, 2^-133
        (0x8000, -0.0), (0x7F80, .infinity), (0xFF80, -.infinity),
    ]
    var data: [UInt8] = []
    for c in cases { data += [UInt8(c.bits & 0xFF), UInt8(c.bits >> 8)] }
    data += [0xC0, 0x7F]  // NaN 0x7FC0
    let n = cases.count + 1
    let header = "{" + entry("b", "BF16", shape: "[\(n)]", offsets: "[0,\(2 * n)]") + "}"
    let values = try SafeTensorsFile.decode(handMade(json: header, data: data)).tensor(named: "b").data
    try #require(values.count == n)
    for (i, c) in cases.enumerated() {
        #expect(values[i].bitPattern == c.value.bitPattern, "BF16 0x\(String(c.bits, radix: 16)): got \(values[i]), expected \(c.value)")
    }
    #expect(values[n - 1].bitPattern == 0x7FC0_0000)
}

@Test func mixedDtypesInOneFile() throws {
    let header = "{" + entry("f", "F32", shape: "[1]", offsets: "[0,4]") + ","
        + entry("h", "F16", shape: "[1]", offsets: "[4,6]") + "," + entry("b", "BF16", shape: "[1]", offsets: "[6,8]") + "}"
    let data: [UInt8] = [0x00, 0x00, 0xC0, 0x3F, 0x00, 0xC4, 0x40, 0x40]  // 1.5, F16 -4.0, BF16 3.0
    let file = try SafeTensorsFile.decode(handMade(json: header, data: data))
    #expect(file["f"]?.values == [1.5])
    #expect(file["h"]?.values == [-4.0])
    #expect(file["b"]?.values == [3.0])
}

// MARK: - Header format

@Test func metadataAndAwkwardNamesRoundTrip() throws {
    let metadata = [
        "format": "pt",
        "quote\"and\\backslash": "line\nbreak\ttab\u{01}control",
        "unicode η": "lr=3e-4 ✓",
        "": "empty key",
    ]
    let file = try SafeTensorsFile(tensors: [
        "layers.0.attn/\"q\"": Tensor(shape: [2], data: [1, 2]),
        "ημ\\": Tensor.scalar(3),
    ], metadata: metadata)
    let back = try SafeTensorsFile.decode(file.encode())
    #expect(back == file)
    #expect(back.metadata == metadata)
}

@Test(arguments: 1 ... 9)
func headerIsPaddedWithSpacesToMultipleOf8(nameLength: Int) throws {
    let name = String(repeating: "x", count: nameLength)
    let bytes = Array(try SafeTensorsFile(tensors: [name: Tensor(shape: [3], data: [1, 2, 3])]).encode())
    let n = Int(UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
    #expect(n % 8 == 0, "header length \(n)")
    let header = bytes[8 ..< 8 + n]
    let close = try #require(header.lastIndex(of: UInt8(ascii: "}")))
    let padding = header[(close + 1)...]
    #expect(padding.allSatisfy { $0 == UInt8(ascii: " ") })
    #expect(padding.count < 8, "\(padding.count) bytes of padding; alignment needs fewer than 8")
    #expect(bytes.count == 8 + n + 12)
}

@Test func encodingIsDeterministicAndSortedByUTF8Bytes() throws {
    // "e\u{301}x" (e + combining acute) sorts before "f" by bytes, after it by Swift's `<`.
    let names = ["b", "a", "é", "B", "z", "a.1", "a0", "f", "e\u{301}x"]
    let tensors = names.enumerated().map { (name: $0.element, tensor: Tensor.full([2], Float($0.offset))) }
    let forward = try SafeTensorsFile(tensors: tensors)
    let reversed = try SafeTensorsFile(tensors: tensors.reversed())
    let fromDict = try SafeTensorsFile(tensors: Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }))
    #expect(forward.encode() == forward.encode())
    #expect(forward.encode() == reversed.encode())
    #expect(forward.encode() == fromDict.encode())
    // Byte order: "B" (0x42) < "a" < "a.1" < "a0" < "b" < "e\u{301}x" (0x65 0xCC) < "f" < "z" < "é" (0xC3 0xA9).
    let expected = ["B", "a", "a.1", "a0", "b", "e\u{301}x", "f", "z", "é"]
    #expect(forward.names.map { Array($0.utf8) } == expected.map { Array($0.utf8) })
    let encoded = Array(forward.encode())
    var positions: [Int] = []
    for name in expected {
        positions.append(try #require(firstIndex(of: Array("\"\(name)\":".utf8), in: encoded), "\(name) not in header"))
    }
    #expect(positions == positions.sorted(), "tensors not written in UTF-8 byte order: \(positions)")
}

// MARK: - Files on disk

@Test func atomicWriteLeavesOnlyTheDestination() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("ckpt.safetensors").path
    try SafeTensorsFile(tensors: ["w": Tensor(shape: [2], data: [1, 2])]).write(to: path)
    let second = try SafeTensorsFile(tensors: ["w": Tensor(shape: [3], data: [4, 5, 6])])
    try second.write(to: path)  // overwrites through a rename
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["ckpt.safetensors"])
    #expect(try SafeTensorsFile.read(from: path) == second)
}

@Test func writeReplacesTheFileInsteadOfRewritingIt() throws {
    // A hard link to the old file keeps the old bytes only if the new file was renamed over the name;
    // writing in place (where a crash leaves half a file) would change both.
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("ckpt.safetensors").path
    let alias = dir.appendingPathComponent("old.safetensors").path
    let old = try SafeTensorsFile(tensors: ["w": Tensor(shape: [2], data: [1, 2])])
    let new = try SafeTensorsFile(tensors: ["w": Tensor(shape: [2], data: [3, 4])])
    try old.write(to: path)
    try FileManager.default.linkItem(atPath: path, toPath: alias)
    try new.write(to: path)
    #expect(try SafeTensorsFile.read(from: path) == new)
    #expect(try SafeTensorsFile.read(from: alias) == old)
}

@Test func failedWriteRemovesItsTemporaryFile() throws {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    // The destination is a directory, so the final rename fails after the data was written.
    let path = dir.appendingPathComponent("occupied").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    #expect {
        try SafeTensorsFile(tensors: ["w": Tensor.scalar(1)]).write(to: path)
    } throws: { error in
        guard case let .ioError(p, _)? = error as? SafeTensorsError else { return false }
        return p == path && "\(error)".contains(path)
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["occupied"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: path).isEmpty)
}

@Test func writeIntoMissingDirectoryThrowsIOError() throws {
    let path = "/nonexistent-attnlab-dir/\(UUID().uuidString)/model.safetensors"
    #expect {
        try SafeTensorsFile(tensors: ["w": Tensor.scalar(1)]).write(to: path)
    } throws: { error in
        guard case let .ioError(p, _)? = error as? SafeTensorsError else { return false }
        return p == path && "\(error)".contains(path)
    }
}

@Test func readMissingFileThrowsIOError() {
    let path = "/nonexistent-attnlab-dir/\(UUID().uuidString).safetensors"
    #expect {
        try SafeTensorsFile.read(from: path)
    } throws: { error in
        guard case let .ioError(p, message)? = error as? SafeTensorsError else { return false }
        return p == path && message.contains("No such file") && "\(error)".contains(path)
    }
}

// MARK: - Lookups and construction

@Test func missingTensorListsAvailableNames() throws {
    let file = try SafeTensorsFile(tensors: ["b": Tensor.scalar(1), "a": Tensor.scalar(2)])
    #expect(throws: SafeTensorsError.missingTensor(name: "x", available: ["a", "b"])) { try file.tensor(named: "x") }
    let message = "\(SafeTensorsError.missingTensor(name: "x", available: ["a", "b"]))"
    #expect(message.contains("'x'") && message.contains("'a'") && message.contains("'b'"), "\(message)")
}

@Test func expectedShapeMismatchNamesBothShapes() throws {
    let file = try SafeTensorsFile(tensors: ["w": Tensor.zeros([2, 3])])
    let expected = SafeTensorsError.shapeMismatch(tensor: "w", expected: [3, 2], actual: [2, 3])
    #expect(throws: expected) { try file.tensor(named: "w", expectedShape: [3, 2]) }
    let message = "\(expected)"
    #expect(message.contains("'w'") && message.contains("[3, 2]") && message.contains("[2, 3]"), "\(message)")
    #expect(try file.tensor(named: "w", expectedShape: [2, 3]).shape == [2, 3])
}

@Test func duplicateAndReservedNamesAreRejected() {
    #expect(throws: SafeTensorsError.invalidName("w", reason: "the name appears more than once")) {
        try SafeTensorsFile(tensors: [(name: "w", tensor: Tensor.scalar(1)), (name: "w", tensor: Tensor.scalar(2))])
    }
    #expect(throws: SafeTensorsError.invalidName("__metadata__", reason: "the name is reserved for the metadata map")) {
        try SafeTensorsFile(tensors: ["__metadata__": Tensor.scalar(1)])
    }
}

// MARK: - Malformed files

/// A malformed file, the exact error it must raise, and what the message must mention.
struct BadFile: Sendable, CustomTestStringConvertible {
    let label: String
    let bytes: [UInt8]
    let expected: SafeTensorsError
    let mentions: [String]
    var testDescription: String { label }

    init(_ label: String, _ bytes: [UInt8], _ expected: SafeTensorsError, mentions: [String]) {
        self.label = label
        self.bytes = bytes
        self.expected = expected
        self.mentions = mentions
    }

    /// A file whose one tensor "w" has the given entry fields and `dataSize` bytes of data.
    init(_ label: String, w fields: String, dataSize: Int = 8, _ expected: SafeTensorsError, mentions: [String]) {
        self.init(label, handMade(json: "{\"w\":{\(fields)}}", data: [UInt8](repeating: 0, count: dataSize)),
                  expected, mentions: mentions)
    }
}

private let f32Dtypes = ["F32", "F16", "BF16"]

let badFiles: [BadFile] = [
    BadFile("empty file", [], .fileTooShort(bytes: 0), mentions: ["0 bytes"]),
    BadFile("7-byte file", [1, 2, 3, 4, 5, 6, 7], .fileTooShort(bytes: 7), mentions: ["7 bytes"]),
    BadFile("header length past end", handMade(json: "{}", headerLength: 1000),
            .headerLengthPastEnd(headerLength: 1000, fileSize: 10), mentions: ["1000", "10 bytes"]),
    BadFile("header length one past end", handMade(json: "{}", headerLength: 3),
            .headerLengthPastEnd(headerLength: 3, fileSize: 10), mentions: ["length 3", "10 bytes"]),
    BadFile("header length UInt64.max", handMade(json: "{}", headerLength: .max),
            .headerLengthPastEnd(headerLength: .max, fileSize: 10), mentions: ["18446744073709551615"]),
    BadFile("header is an array", handMade(json: "[1, 2]"),
            .notAnObject(context: "header", found: "[1, 2]"), mentions: ["header", "[1, 2]"]),
    BadFile("header is a string", handMade(json: "\"weights\""),
            .notAnObject(context: "header", found: "\"weights\""), mentions: ["\"weights\""]),
    BadFile("header is a number", handMade(json: "42"),
            .notAnObject(context: "header", found: "42"), mentions: ["42"]),
    BadFile("entry is a number", handMade(json: "{\"w\": 3}"),
            .notAnObject(context: "entry for tensor 'w'", found: "3"), mentions: ["'w'", "3"]),
    BadFile("missing dtype", w: "\"shape\":[2],\"data_offsets\":[0,8]",
            .missingField(tensor: "w", field: "dtype"), mentions: ["'w'", "\"dtype\""]),
    BadFile("missing shape", w: "\"dtype\":\"F32\",\"data_offsets\":[0,8]",
            .missingField(tensor: "w", field: "shape"), mentions: ["'w'", "\"shape\""]),
    BadFile("missing data_offsets", w: "\"dtype\":\"F32\",\"shape\":[2]",
            .missingField(tensor: "w", field: "data_offsets"), mentions: ["'w'", "\"data_offsets\""]),
    BadFile("dtype is a number", w: "\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]",
            .badField(tensor: "w", field: "dtype", value: "32", expected: "a string"), mentions: ["'w'", "32", "string"]),
    BadFile("unknown dtype Q7", w: "\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]",
            .unknownDtype(tensor: "w", dtype: "Q7", valid: f32Dtypes), mentions: ["'w'", "Q7", "F32", "F16", "BF16"]),
    BadFile("unsupported dtype F64", w: "\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]",
            .unknownDtype(tensor: "w", dtype: "F64", valid: f32Dtypes), mentions: ["F64", "F32, F16, BF16"]),
    BadFile("lower-case dtype", w: "\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]",
            .unknownDtype(tensor: "w", dtype: "f32", valid: f32Dtypes), mentions: ["\"f32\"", "F32"]),
    BadFile("shape is a number", w: "\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]",
            .badField(tensor: "w", field: "shape", value: "2", expected: "an array of non-negative integers"),
            mentions: ["\"shape\" is 2", "array"]),
    BadFile("negative shape", w: "\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]",
            .badShape(tensor: "w", shape: "[2, -1]", reason: "extent 1 is -1, which is negative"), mentions: ["[2, -1]", "-1"]),
    BadFile("fractional shape", w: "\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]",
            .badShape(tensor: "w", shape: "[2.5]", reason: "extent 0 is 2.5, not an integer"), mentions: ["2.5"]),
    BadFile("shape written as float", w: "\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]",
            .badShape(tensor: "w", shape: "[2.0]", reason: "extent 0 is 2.0, not an integer"), mentions: ["2.0"]),
    BadFile("boolean in shape", w: "\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,4]",
            .badShape(tensor: "w", shape: "[true]", reason: "extent 0 is true, not an integer"), mentions: ["true"]),
    BadFile("string in shape", w: "\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]",
            .badShape(tensor: "w", shape: "[\"2\"]", reason: "extent 0 is \"2\", not an integer"), mentions: ["\"2\""]),
    BadFile("shape overflows", w: "\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]",
            .badShape(tensor: "w", shape: "[4611686018427387904, 4]", reason: "its size in bytes overflows a 64-bit integer"),
            mentions: ["4611686018427387904", "overflow"]),
    BadFile("offsets not a pair", w: "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]",
            .badField(tensor: "w", field: "data_offsets", value: "[0]", expected: "two non-negative integers [begin, end]"),
            mentions: ["[0]", "two non-negative integers"]),
    BadFile("fractional offset", w: "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,7.5]",
            .badField(tensor: "w", field: "data_offsets", value: "[0, 7.5]", expected: "two non-negative integers [begin, end]"),
            mentions: ["7.5"]),
    BadFile("negative offset", w: "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]",
            .badField(tensor: "w", field: "data_offsets", value: "[-8, 0]", expected: "two non-negative integers [begin, end]"),
            mentions: ["-8"]),
    BadFile("offset beyond 64 bits", w: "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]",
            .badField(tensor: "w", field: "data_offsets", value: "[0, 99999999999999999999]",
                      expected: "two non-negative integers [begin, end]"),
            mentions: ["99999999999999999999"]),
    BadFile("begin after end", w: "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]",
            .offsetsReversed(tensor: "w", begin: 8, end: 4), mentions: ["[8, 4]", "begin 8 > end 4"]),
    BadFile("end past data", w: "\"dtype\":\"F32\",\"shape\":[25],\"data_offsets\":[0,100]",
            .offsetsOutOfRange(tensor: "w", begin: 0, end: 100, dataSize: 8), mentions: ["[0, 100]", "8 bytes"]),
    BadFile("both offsets past data", w: "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]",
            .offsetsOutOfRange(tensor: "w", begin: 16, end: 24, dataSize: 8), mentions: ["[16, 24]", "8 bytes"]),
    BadFile("offsets overlap", handMade(json: "{" + entry("a", shape: "[2]", offsets: "[0,8]") + ","
                                        + entry("b", shape: "[2]", offsets: "[4,12]") + "}", data: .init(repeating: 0, count: 12)),
            .offsetsOverlap(tensorA: "a", beginA: 0, endA: 8, tensorB: "b", beginB: 4, endB: 12),
            mentions: ["'a'", "'b'", "[0, 8)", "[4, 12)"]),
    BadFile("offsets identical", handMade(json: "{" + entry("b", shape: "[2]", offsets: "[0,8]") + ","
                                          + entry("a", shape: "[2]", offsets: "[0,8]") + "}", data: .init(repeating: 0, count: 8)),
            .offsetsOverlap(tensorA: "a", beginA: 0, endA: 8, tensorB: "b", beginB: 0, endB: 8), mentions: ["'a'", "'b'"]),
    BadFile("offsets nested past a neighbour", handMade(json: "{" + entry("big", shape: "[4]", offsets: "[0,16]") + ","
                                                        + entry("mid", shape: "[1]", offsets: "[4,8]") + ","
                                                        + entry("late", shape: "[1]", offsets: "[12,16]") + "}",
                                                        data: .init(repeating: 0, count: 16)),
            .offsetsOverlap(tensorA: "big", beginA: 0, endA: 16, tensorB: "mid", beginB: 4, endB: 8), mentions: ["'big'", "'mid'"]),
    BadFile("F32 size mismatch", w: "\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]", dataSize: 24,
            .sizeMismatch(tensor: "w", shape: [2, 3], dtype: "F32", expectedBytes: 24, actualBytes: 20),
            mentions: ["[2, 3]", "F32", "24 bytes", "span 20"]),
    BadFile("F16 size mismatch", w: "\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,4]",
            .sizeMismatch(tensor: "w", shape: [3], dtype: "F16", expectedBytes: 6, actualBytes: 4), mentions: ["F16", "6 bytes"]),
    BadFile("scalar with no bytes", w: "\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]",
            .sizeMismatch(tensor: "w", shape: [], dtype: "F32", expectedBytes: 4, actualBytes: 0), mentions: ["4 bytes", "span 0"]),
    BadFile("metadata value not a string", handMade(json: "{\"__metadata__\":{\"epoch\":3}}"),
            .badMetadata(key: "epoch", found: "3"), mentions: ["\"epoch\"", "3"]),
    BadFile("metadata not an object", handMade(json: "{\"__metadata__\":[\"a\"]}"),
            .notAnObject(context: "__metadata__", found: "[\"a\"]"), mentions: ["__metadata__", "[\"a\"]"]),
]

@Test(arguments: badFiles)
func malformedFileIsRejected(_ bad: BadFile) throws {
    let error = try #require(decodeError(bad.bytes), "\(bad.label): decoded without error")
    #expect(error == bad.expected)
    let message = error.description
    for needle in bad.mentions {
        #expect(message.contains(needle), "message does not mention \(needle): \(message)")
    }
}

/// A header that is not JSON; labelled, because some are too long to print.
struct BadJSON: Sendable, CustomTestStringConvertible {
    let testDescription: String
    let header: String
}

@Test(arguments: [
    BadJSON(testDescription: "truncated", header: "{\"w\":"),
    BadJSON(testDescription: "trailing garbage", header: "{} x"),
    BadJSON(testDescription: "empty header", header: ""),
    BadJSON(testDescription: "single quotes", header: "{'w': 1}"),
    BadJSON(testDescription: "nested too deep", header: String(repeating: "[", count: 100_000)),
])
func invalidJSONIsRejected(_ bad: BadJSON) throws {
    let error = try #require(decodeError(handMade(json: bad.header)), "decoded without error")
    guard case .invalidJSON = error else {
        Issue.record("expected invalidJSON, got \(error)")
        return
    }
    #expect(error.description.contains("JSON"), "\(error)")
}

@Test func invalidUTF8HeaderIsRejected() throws {
    let error = try #require(decodeError(handMade([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])))  // {"\xFF":1}
    #expect(error == .invalidJSON("the 7 header bytes are not valid UTF-8"))
    #expect(error.description.contains("UTF-8"))
}

@Test func everyTruncationOfAValidFileIsRejected() throws {
    let full = Array(try SafeTensorsFile(tensors: [
        "a": Tensor(shape: [3], data: [1, 2, 3]), "b": Tensor.scalar(4),
    ], metadata: ["k": "v"]).encode())
    for length in 0 ..< full.count {
        #expect(decodeError(Array(full[..<length])) != nil, "a \(length)-byte prefix of \(full.count) decoded")
    }
    #expect(decodeError(full) == nil)
}

@Test func corruptedFilesNeverCrash() throws {
    // Random bytes overwritten in a valid file: decode must either succeed or throw SafeTensorsError.
    let valid = Array(try SafeTensorsFile(tensors: [
        "a": Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), "b": Tensor.scalar(7), "e": Tensor.zeros([0, 2]),
    ], metadata: ["format": "pt"]).encode())
    var rng = Xoshiro256StarStar(seed: 2024)
    var rejected = 0
    for _ in 0 ..< 3000 {
        var bytes = valid
        for _ in 0 ... rng.nextInt(below: 4) {
            bytes[rng.nextInt(below: bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
        }
        if decodeError(bytes) != nil { rejected += 1 }
    }
    #expect(rejected > 0, "no corruption was detected at all")
}
