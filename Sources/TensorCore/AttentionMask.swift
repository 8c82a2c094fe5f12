// Which keys a query may attend to, stated once for every path that applies it:
//
//   key s is visible to the query at position p  iff  s ≤ p  and
//       (no window, or s > p − w  (the last w keys, itself included),
//        or s < sinks             (StreamingLLM's attention sinks: the first tokens, always)).
//
// So a query sees at most two contiguous segments of keys: the sinks 0 ..< sinkEnd(p) and
// the recent keys recentStart(p) ... p. Without a window the sinks are inside the recent
// segment and change nothing. The training op, both prefill kernels, the softmax cache and
// decode all apply it (the kernels through `KeyRows` below).

public struct AttentionMask: Sendable, Hashable {
    /// w: the query sees its last w keys (itself included); nil = every earlier key.
    public var window: Int?
    /// s: the first s keys of the sequence stay visible beyond the window.
    public var sinks: Int

    public init(window: Int? = nil, sinks: Int = 0) {
        precondition(window.map { $0 >= 1 } ?? true, "attention window \(window!) must be at least 1")
        precondition(sinks >= 0, "attention sinks \(sinks) must be at least 0")
        self.window = window
        self.sinks = sinks
    }

    /// Plain causal attention.
    public static let causal = AttentionMask()

    /// First key of the recent segment of the query at position p.
    @inlinable public func recentStart(query p: Int) -> Int {
        guard let w = window else { return 0 }
        return Swift.max(0, p - w + 1)
    }

    /// End (exclusive) of the sink segment of the query at position p: keys 0 ..< sinkEnd
    /// are visible though outside the window (empty when the window reaches them).
    @inlinable public func sinkEnd(query p: Int) -> Int { Swift.min(sinks, recentStart(query: p)) }

    @inlinable public func isVisible(key s: Int, query p: Int) -> Bool {
        s <= p && (s >= recentStart(query: p) || s < sinkEnd(query: p))
    }

    /// Keys a cache must hold after `context` tokens to serve the next query.
    @inlinable public func retainedKeys(context n: Int) -> Int {
        guard let w = window else { return n }
        return Swift.min(n, w + sinks)
    }

    /// The additive mask [T, T] (0 where visible, −∞ elsewhere) for the plain composition
    /// softmax(scores + mask), which the fast paths are tested against.
    public func dense(_ t: Int) -> Tensor {
        let m = Tensor.full([t, t], -.infinity)
        for p in 0..<t {
            for s in 0...Swift.max(0, p) where isVisible(key: s, query: p) { m.data[p * t + s] = 0 }
        }
        return m
    }
}

/// How the key rows handed to an inference kernel map to positions, and which of them a
/// query sees. The rows are the stored sinks, positions 0 ..< sinkRows, followed by one
/// contiguous run of positions firstKeyPosition, firstKeyPosition + 1, … (a cache that keeps
/// its sinks apart from a ring of recent keys hands over exactly this; a full sequence is
/// the run from 0 with no separate sinks). A query then sees two ranges of rows: the sink
/// rows 0 ..< sinkEnd and the recent rows first ... last.
public struct KeyRows: Sendable, Hashable {
    public var mask: AttentionMask
    public var firstKeyPosition: Int
    /// Rows before the run: the sinks the run does not reach, min(s, firstKeyPosition).
    public var sinkRows: Int

    public init(mask: AttentionMask, firstKeyPosition: Int = 0) {
        precondition(firstKeyPosition >= 0, "first key position \(firstKeyPosition) must be at least 0")
        self.mask = mask
        self.firstKeyPosition = firstKeyPosition
        self.sinkRows = Swift.min(mask.sinks, firstKeyPosition)
    }

    /// The row holding position `pos` (a stored sink or a position of the run).
    @inlinable public func row(ofPosition pos: Int) -> Int {
        pos < firstKeyPosition ? pos : sinkRows + pos - firstKeyPosition
    }

    /// The rows the query at position p sees: sink rows 0 ..< sinkEnd and recent rows
    /// first ... last (sinkEnd ≤ first). The caller must have handed over every visible
    /// position: the run starts at or before the query's window.
    @inlinable public func visibleRows(query p: Int) -> (sinkEnd: Int, first: Int, last: Int) {
        let recent = mask.recentStart(query: p)
        assert(recent >= firstKeyPosition || sinkRows == firstKeyPosition,
               "query \(p) sees position \(recent), which is neither a stored sink nor in the run from \(firstKeyPosition)")
        let first = row(ofPosition: recent)
        let sinkEnd = row(ofPosition: mask.sinkEnd(query: p))
        return (Swift.min(sinkEnd, first), first, row(ofPosition: p))
    }
}
