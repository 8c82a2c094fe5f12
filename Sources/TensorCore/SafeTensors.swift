// safetensors I/O: the checkpoint format of PyTorch and Hugging Face.
//
// Promises:
// - Reading accepts F32, F16 and BF16 tensors and returns Float32 values; any other
//   dtype is an error that lists the readable ones.
// - Reading never traps on file contents. Every malformed file (short, header length
//   past the end, bad JSON, missing or mistyped fields, negative or overflowing shapes,
//   offsets out of range, reversed or overlapping, sizes that disagree with the shape)
//   throws a `SafeTensorsError` that names the tensor and the offending value.
//   Data bytes that no tensor covers are allowed, as they are harmless.
// - Writing produces F32 tensors sorted by name (UTF-8 byte order), contiguous
//   offsets, and a header padded with spaces to a multiple of 8 bytes: the same bytes
//   the `safetensors` Python package writes for the same tensors and metadata.
// - `write(to:)` is atomic: it writes a temporary file in the destination directory,
//   flushes it, then renames it over the destination.
//
// Layout: 8-byte little-endian UInt64 header length N; N bytes of UTF-8 JSON mapping
// tensor name -> {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
// the data section) plus an optional "__metadata__" string -> string map; then the
// little-endian data section.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Errors

/// What is wrong with a safetensors file, and where.
public enum SafeTensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file cannot hold the 8-byte header length.
    case fileTooShort(bytes: Int)
    /// The header length runs past the end of the file.
    case headerLengthPastEnd(headerLength: UInt64, fileSize: Int)
    /// The header is not UTF-8 JSON; `reason` comes from the parser.
    case invalidJSON(String)
    /// Something that must be a JSON object is not: the header, a tensor entry, or "__metadata__".
    case notAnObject(context: String, found: String)
    /// A tensor entry lacks "dtype", "shape" or "data_offsets".
    case missingField(tensor: String, field: String)
    /// A field has the wrong JSON type or form (e.g. offsets that are not two non-negative integers).
    case badField(tensor: String, field: String, value: String, expected: String)
    /// A dtype this reader does not decode.
    case unknownDtype(tensor: String, dtype: String, valid: [String])
    /// A shape with a negative or non-integer extent, or whose byte size overflows.
    case badShape(tensor: String, shape: String, reason: String)
    /// data_offsets with begin > end.
    case offsetsReversed(tensor: String, begin: Int, end: Int)
    /// data_offsets that reach past the data section.
    case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataSize: Int)
    /// Two tensors share bytes of the data section.
    case offsetsOverlap(tensorA: String, beginA: Int, endA: Int, tensorB: String, beginB: Int, endB: Int)
    /// The byte span of data_offsets disagrees with shape × dtype size.
    case sizeMismatch(tensor: String, shape: [Int], dtype: String, expectedBytes: Int, actualBytes: Int)
    /// A "__metadata__" value that is not a string.
    case badMetadata(key: String, found: String)
    /// A tensor name that cannot be written: a duplicate, or the reserved "__metadata__".
    case invalidName(String, reason: String)
    /// Lookup of a name the file does not hold.
    case missingTensor(name: String, available: [String])
    /// Lookup with an expected shape that the stored tensor does not have.
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    /// The file system refused a read or write.
    case ioError(path: String, message: String)

    public var description: String {
        switch self {
        case let .fileTooShort(bytes):
            return "safetensors file is \(bytes) bytes long; it needs at least 8 for the header length"
        case let .headerLengthPastEnd(headerLength, fileSize):
            return "safetensors header length \(headerLength) runs past the end of the file: the file is \(fileSize) bytes, "
                + "so at most \(max(fileSize - 8, 0)) header bytes fit"
        case let .invalidJSON(reason):
            return "safetensors header is not valid UTF-8 JSON: \(reason)"
        case let .notAnObject(context, found):
            return "safetensors \(context) must be a JSON object; found \(found)"
        case let .missingField(tensor, field):
            return "tensor '\(tensor)': missing field \"\(field)\" (each entry needs dtype, shape and data_offsets)"
        case let .badField(tensor, field, value, expected):
            return "tensor '\(tensor)': field \"\(field)\" is \(value); expected \(expected)"
        case let .unknownDtype(tensor, dtype, valid):
            return "tensor '\(tensor)': dtype \"\(dtype)\" is not supported; readable dtypes are \(valid.joined(separator: ", "))"
        case let .badShape(tensor, shape, reason):
            return "tensor '\(tensor)': shape \(shape) is invalid: \(reason)"
        case let .offsetsReversed(tensor, begin, end):
            return "tensor '\(tensor)': data_offsets [\(begin), \(end)] have begin \(begin) > end \(end)"
        case let .offsetsOutOfRange(tensor, begin, end, dataSize):
            return "tensor '\(tensor)': data_offsets [\(begin), \(end)] reach past the data section, which is \(dataSize) bytes"
        case let .offsetsOverlap(a, beginA, endA, b, beginB, endB):
            return "tensors '\(a)' (bytes [\(beginA), \(endA))) and '\(b)' (bytes [\(beginB), \(endB))) overlap in the data section"
        case let .sizeMismatch(tensor, shape, dtype, expectedBytes, actualBytes):
            return "tensor '\(tensor)': shape \(shape) of \(dtype) needs \(expectedBytes) bytes but data_offsets span \(actualBytes)"
        case let .badMetadata(key, found):
            return "safetensors __metadata__ must map strings to strings; key \"\(key)\" holds \(found)"
        case let .invalidName(name, reason):
            return "tensor name '\(name)' cannot be written: \(reason)"
        case let .missingTensor(name, available):
            let shown = available.prefix(20).map { "'\($0)'" }.joined(separator: ", ")
            let more = available.count > 20 ? " and \(available.count - 20) more" : ""
            return "no tensor named '\(name)'; available: \(available.isEmpty ? "none" : shown + more)"
        case let .shapeMismatch(tensor, expected, actual):
            return "tensor '\(tensor)' has shape \(actual), expected \(expected)"
        case let .ioError(path, message):
            return "\(path): \(message)"
        }
    }
}

// MARK: - The file

/// The tensors and metadata of one safetensors file, values as Float32.
///
/// Entries are kept sorted by name in UTF-8 byte order, the order `encode()` writes
/// them, so `decode(encode(f)) == f` for every file without NaN values.
public struct SafeTensorsFile: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public let name: String
        /// Extents, outermost first; [] for a scalar.
        public let shape: [Int]
        /// Row-major values; `values.count == shape.product`.
        public let values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.allSatisfy { $0 >= 0 }, "tensor '\(name)': negative extent in shape \(shape)")
            precondition(values.count == shape.product,
                         "tensor '\(name)': \(values.count) values but shape \(shape) needs \(shape.product)")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Sorted by name (UTF-8 byte order).
    public private(set) var entries: [Entry]
    /// The "__metadata__" map; written with keys sorted.
    public var metadata: [String: String]

    /// The dtypes `decode` reads, in the order error messages list them.
    public static let readableDtypes = DType.allCases.map(\.rawValue)

    public init(entries: [Entry], metadata: [String: String] = [:]) throws {
        var seen = Set<String>()
        for e in entries {
            if e.name == SafeTensorsFile.metadataKey {
                throw SafeTensorsError.invalidName(e.name, reason: "the name is reserved for the metadata map")
            }
            if !seen.insert(e.name).inserted {
                throw SafeTensorsError.invalidName(e.name, reason: "the name appears more than once")
            }
        }
        self.entries = entries.sorted { utf8Less($0.name, $1.name) }
        self.metadata = metadata
    }

    /// Snapshots the values of named tensors (gradients and graph links are not saved).
    public init(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) throws {
        try self.init(entries: tensors.map { Entry(name: $0.name, shape: $0.tensor.shape, values: $0.tensor.data) },
                      metadata: metadata)
    }

    public init(tensors: [String: Tensor], metadata: [String: String] = [:]) throws {
        try self.init(tensors: tensors.map { (name: $0.key, tensor: $0.value) }, metadata: metadata)
    }

    public var names: [String] { entries.map(\.name) }

    /// The entry called `name`, or nil. A linear search: files hold hundreds of tensors, not millions.
    public subscript(name: String) -> Entry? { entries.first { $0.name == name } }

    /// A fresh leaf tensor holding the named entry.
    public func tensor(named name: String) throws -> Tensor {
        guard let e = self[name] else { throw SafeTensorsError.missingTensor(name: name, available: names) }
        return Tensor(shape: e.shape, data: e.values)
    }

    /// As `tensor(named:)`, and the stored shape must equal `expectedShape`.
    public func tensor(named name: String, expectedShape: [Int]) throws -> Tensor {
        let t = try tensor(named: name)
        guard t.shape == expectedShape else {
            throw SafeTensorsError.shapeMismatch(tensor: name, expected: expectedShape, actual: t.shape)
        }
        return t
    }

    static let metadataKey = "__metadata__"

    enum DType: String, CaseIterable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"

        var byteSize: Int {
            switch self {
            case .f32: return 4
            case .f16, .bf16: return 2
            }
        }
    }
}

// MARK: - Reading

extension SafeTensorsFile {
    /// Reads and validates a file; `ioError` if it cannot be read, otherwise as `decode`.
    public static func read(from path: String) throws -> SafeTensorsFile {
        try decode(readAllBytes(path))
    }

    /// Validates the whole header before converting any data; throws on the first fault,
    /// checking tensors in name order so the same file always reports the same fault.
    public static func decode(_ data: Data) throws -> SafeTensorsFile {
        try data.withUnsafeBytes { try decode(raw: $0) }
    }

    /// As `decode(_: Data)`.
    public static func decode(_ bytes: [UInt8]) throws -> SafeTensorsFile {
        try bytes.withUnsafeBytes { try decode(raw: $0) }
    }

    /// One validated header entry.
    private struct Span {
        let name: String
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    private static func decode(raw file: UnsafeRawBufferPointer) throws -> SafeTensorsFile {
        guard file.count >= 8 else { throw SafeTensorsError.fileTooShort(bytes: file.count) }
        let headerLength = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        // Compared as UInt64 so that a length beyond Int.max cannot trap in a conversion.
        guard headerLength <= UInt64(file.count - 8) else {
            throw SafeTensorsError.headerLengthPastEnd(headerLength: headerLength, fileSize: file.count)
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = file.count - dataStart
        let header = try parseHeader(Data(file[8 ..< dataStart]))

        guard let object = header as? [String: Any] else {
            throw SafeTensorsError.notAnObject(context: "header", found: describeJSON(header))
        }
        var metadata: [String: String] = [:]
        if let raw = object[metadataKey] {
            metadata = try parseMetadata(raw)
        }

        // Validate in name order so that a file with several faults always reports the same one.
        let tensorFields = object.filter { $0.key != metadataKey }.sorted { utf8Less($0.key, $1.key) }
        let spans = try tensorFields.map { try parseEntry(name: $0.key, $0.value, dataSize: dataSize) }
        try checkNoOverlap(spans)

        let entries = spans.map { s in
            Entry(name: s.name, shape: s.shape,
                  values: convert(UnsafeRawBufferPointer(rebasing: file[(dataStart + s.begin) ..< (dataStart + s.end)]),
                                  dtype: s.dtype))
        }
        return try SafeTensorsFile(entries: entries, metadata: metadata)
    }

    private static func parseHeader(_ bytes: Data) throws -> Any {
        // Checked first: the parser's own message for bad UTF-8 does not say "UTF-8" on every platform.
        guard String(data: bytes, encoding: .utf8) != nil else {
            throw SafeTensorsError.invalidJSON("the \(bytes.count) header bytes are not valid UTF-8")
        }
        do {
            return try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])
        } catch {
            let ns = error as NSError
            throw SafeTensorsError.invalidJSON(ns.userInfo[NSDebugDescriptionErrorKey] as? String ?? ns.localizedDescription)
        }
    }

    private static func parseMetadata(_ raw: Any) throws -> [String: String] {
        guard let map = raw as? [String: Any] else {
            throw SafeTensorsError.notAnObject(context: metadataKey, found: describeJSON(raw))
        }
        var out: [String: String] = [:]
        for (key, raw) in map.sorted(by: { utf8Less($0.key, $1.key) }) {
            guard let value = raw as? String else {
                throw SafeTensorsError.badMetadata(key: key, found: describeJSON(raw))
            }
            out[key] = value
        }
        return out
    }

    private static func parseEntry(name: String, _ raw: Any, dataSize: Int) throws -> Span {
        guard let entry = raw as? [String: Any] else {
            throw SafeTensorsError.notAnObject(context: "entry for tensor '\(name)'", found: describeJSON(raw))
        }
        func field(_ key: String) throws -> Any {
            guard let v = entry[key] else { throw SafeTensorsError.missingField(tensor: name, field: key) }
            return v
        }

        let rawDtype = try field("dtype")
        guard let dtypeName = rawDtype as? String else {
            throw SafeTensorsError.badField(tensor: name, field: "dtype", value: describeJSON(rawDtype), expected: "a string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDtype(tensor: name, dtype: dtypeName, valid: readableDtypes)
        }

        let rawShape = try field("shape")
        guard let shapeItems = rawShape as? [Any] else {
            throw SafeTensorsError.badField(tensor: name, field: "shape", value: describeJSON(rawShape),
                                            expected: "an array of non-negative integers")
        }
        var shape: [Int] = []
        for (i, item) in shapeItems.enumerated() {
            guard let n = jsonInteger(item) else {
                throw SafeTensorsError.badShape(tensor: name, shape: describeJSON(rawShape),
                                                reason: "extent \(i) is \(describeJSON(item)), not an integer")
            }
            guard n >= 0 else {
                throw SafeTensorsError.badShape(tensor: name, shape: describeJSON(rawShape),
                                                reason: "extent \(i) is \(n), which is negative")
            }
            shape.append(n)
        }
        guard let byteCount = byteSize(shape: shape, dtype: dtype) else {
            throw SafeTensorsError.badShape(tensor: name, shape: describeJSON(rawShape),
                                            reason: "its size in bytes overflows a 64-bit integer")
        }

        let rawOffsets = try field("data_offsets")
        guard let pair = rawOffsets as? [Any], pair.count == 2,
              let begin = jsonInteger(pair[0]), let end = jsonInteger(pair[1]), begin >= 0, end >= 0 else {
            throw SafeTensorsError.badField(tensor: name, field: "data_offsets", value: describeJSON(rawOffsets),
                                            expected: "two non-negative integers [begin, end]")
        }
        guard begin <= end else { throw SafeTensorsError.offsetsReversed(tensor: name, begin: begin, end: end) }
        guard end <= dataSize else {
            throw SafeTensorsError.offsetsOutOfRange(tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        guard end - begin == byteCount else {
            throw SafeTensorsError.sizeMismatch(tensor: name, shape: shape, dtype: dtype.rawValue,
                                                expectedBytes: byteCount, actualBytes: end - begin)
        }
        return Span(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// shape.product × element size, or nil on overflow (a hostile shape must not trap).
    private static func byteSize(shape: [Int], dtype: DType) -> Int? {
        if shape.contains(0) { return 0 }
        var n = dtype.byteSize
        for extent in shape {
            let (p, overflow) = n.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            n = p
        }
        return n
    }

    private static func checkNoOverlap(_ spans: [Span]) throws {
        // Empty tensors occupy no bytes, so they overlap nothing wherever they point.
        let sorted = spans.filter { $0.begin < $0.end }.sorted { a, b in
            if a.begin != b.begin { return a.begin < b.begin }
            if a.end != b.end { return a.end < b.end }
            return utf8Less(a.name, b.name)
        }
        guard var reach = sorted.first else { return }  // the span that ends furthest so far
        for s in sorted.dropFirst() {
            if s.begin < reach.end {
                throw SafeTensorsError.offsetsOverlap(tensorA: reach.name, beginA: reach.begin, endA: reach.end,
                                                      tensorB: s.name, beginB: s.begin, endB: s.end)
            }
            if s.end > reach.end { reach = s }
        }
    }

    /// Little-endian elements of `dtype` to Float32; `bytes.count` is a multiple of the element size.
    private static func convert(_ bytes: UnsafeRawBufferPointer, dtype: DType) -> [Float] {
        let count = bytes.count / dtype.byteSize
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case .f32:
                for i in 0 ..< count {
                    out[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            case .f16:
                for i in 0 ..< count {
                    out[i] = floatFromHalfBits(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            case .bf16:
                // bfloat16 is the top half of a Float32.
                for i in 0 ..< count {
                    let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            }
            initialized = count
        }
    }

    /// IEEE binary16 to binary32, exact. Written out by hand because `Float16` is not
    /// available on every platform Swift runs on (Intel macOS).
    static func floatFromHalfBits(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x03FF)
        switch exponent {
        case 0x1F:  // infinity or NaN: all-ones exponent, payload kept
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        case 0:     // zero or subnormal: mantissa · 2^-24, exact in Float32
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        default:    // normal: rebias the exponent from 15 to 127
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    /// A JSON integer as Int, or nil for booleans, floats (even 3.0, as the reference
    /// implementation rejects them), strings, and integers beyond Int's range.
    private static func jsonInteger(_ value: Any) -> Int? {
        guard let n = value as? NSNumber, !(value is NSDecimalNumber) else { return nil }
        switch String(cString: n.objCType) {
        case "q", "l", "i", "s": return Int(exactly: n.int64Value)
        case "Q", "L", "I", "S": return Int(exactly: n.uint64Value)
        default: return nil  // "c" is a JSON boolean, "d" and "f" are non-integral literals
        }
    }

    /// A short JSON-like rendering of a parsed value, for error messages.
    static func describeJSON(_ value: Any) -> String {
        let text: String
        switch value {
        case let s as String:
            text = "\"\(s)\""
        case let n as NSNumber:
            text = String(cString: n.objCType) == "c" ? (n.boolValue ? "true" : "false") : n.description
        case let a as [Any]:
            text = "[" + a.map(describeJSON).joined(separator: ", ") + "]"
        case let o as [String: Any]:
            text = "{" + o.sorted { utf8Less($0.key, $1.key) }.map { "\"\($0.key)\": \(describeJSON($0.value))" }
                .joined(separator: ", ") + "}"
        case is NSNull:
            text = "null"
        default:
            text = String(describing: value)
        }
        return text.count > 120 ? String(text.prefix(117)) + "..." : text
    }
}

// MARK: - Writing

extension SafeTensorsFile {
    /// The file's bytes: F32 data, tensors sorted by name, header padded to 8 bytes.
    public func encode() -> Data {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { utf8Less($0.key, $1.key) }.map { jsonString($0.key) + ":" + jsonString($0.value) }
            fields.append(jsonString(SafeTensorsFile.metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for e in entries {  // already sorted by name
            let size = 4 * e.values.count
            let shape = e.shape.map(String.init).joined(separator: ",")
            fields.append(jsonString(e.name)
                + ":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        // Padding puts the data section on an 8-byte boundary, as the reference writer does.
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)

        var out = Data(count: 8 + header.count + offset)
        out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
            dst.storeBytes(of: UInt64(header.count).littleEndian, toByteOffset: 0, as: UInt64.self)
            UnsafeMutableRawBufferPointer(rebasing: dst[8 ..< 8 + header.count]).copyBytes(from: header)
            var at = 8 + header.count
            for e in entries {
                for v in e.values {
                    dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: at, as: UInt32.self)
                    at += 4
                }
            }
        }
        return out
    }

    /// Writes `encode()` to `path` atomically: readers see the old file or the new one, never a part.
    public func write(to path: String) throws {
        do {
            try AtomicFile.write(encode(), to: path, createDirectories: false)
        } catch let e as AtomicFileError {
            throw SafeTensorsError.ioError(path: path, message: e.message)
        }
    }
}

// MARK: - Helpers

/// Byte-wise order of UTF-8, as Rust sorts strings; Swift's `<` compares Unicode
/// canonical forms instead, which differs for some names.
private func utf8Less(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// A JSON string literal: quotes, backslashes and control characters escaped, the rest as UTF-8.
private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case _ where u.value < 0x20:
            let hex = String(u.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

private func posixMessage(_ step: String) -> String {
    "\(step): \(String(cString: strerror(errno)))"
}

private func readAllBytes(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SafeTensorsError.ioError(path: path, message: posixMessage("cannot open for reading")) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw SafeTensorsError.ioError(path: path, message: posixMessage("read failed"))
        }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0 ..< n])
    }
}

