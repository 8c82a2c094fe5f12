// Progress of long work: on a terminal one line updated in place (step, loss, accuracy,
// tokens/s, ETA); otherwise plain lines at a fixed interval, for logs.

import Foundation

public struct ProgressState: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Float
    public var accuracy: Double?
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    /// The run's time budget, if it has one: the ETA is then never past it.
    public var budgetSeconds: Double?

    public init(step: Int, totalSteps: Int, loss: Float, accuracy: Double? = nil,
                tokensPerSecond: Double, elapsedSeconds: Double, budgetSeconds: Double? = nil) {
        self.step = step
        self.totalSteps = totalSteps
        self.loss = loss
        self.accuracy = accuracy
        self.tokensPerSecond = tokensPerSecond
        self.elapsedSeconds = elapsedSeconds
        self.budgetSeconds = budgetSeconds
    }

    /// Seconds left if the remaining steps go at the average pace so far, or until the
    /// time budget runs out if that comes first (the target accuracy may end it sooner).
    public var etaSeconds: Double {
        let bySteps = step > 0 ? elapsedSeconds / Double(step) * Double(max(totalSteps - step, 0)) : .nan
        guard let budgetSeconds else { return bySteps }
        let byTime = max(budgetSeconds - elapsedSeconds, 0)
        return bySteps.isNaN ? byTime : min(bySteps, byTime)
    }

    /// "123/2000", or "123" when only the time budget bounds the run.
    var stepText: String { totalSteps >= TrainConfig.unboundedSteps ? "\(step)" : "\(step)/\(totalSteps)" }

    public var line: String {
        let acc = accuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "–"
        return String(format: "step %@  loss %.4f  acc %@  %@ tok/s  ETA %@",
                      stepText, loss, acc, Self.compact(tokensPerSecond), Self.duration(etaSeconds))
    }

    static func compact(_ x: Double) -> String {
        x >= 1e6 ? String(format: "%.2fM", x / 1e6) : x >= 1e3 ? String(format: "%.1fk", x / 1e3) : String(format: "%.0f", x)
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "–" }
        let total = Int(s.rounded())
        return total >= 3600 ? "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m"
            : total >= 60 ? "\(total / 60)m\(String(format: "%02d", total % 60))s" : "\(total)s"
    }
}

public protocol ProgressSink: AnyObject {
    func update(_ state: ProgressState)
    func message(_ text: String)
    func finish()
}

/// Writes to standard error: an updating line on a terminal, periodic lines otherwise.
public final class ConsoleProgress: ProgressSink {
    let isTerminal: Bool
    let interval: Double
    var lastPrint = -Double.infinity
    var lastLength = 0
    let prefix: String

    /// `interval`: seconds between plain lines when not on a terminal.
    public init(prefix: String = "", interval: Double = 10) {
        isTerminal = isatty(STDERR_FILENO) == 1
        self.interval = interval
        self.prefix = prefix
    }

    public func update(_ state: ProgressState) {
        let text = prefix + state.line
        if isTerminal {
            let pad = max(0, lastLength - text.count)
            write("\r" + text + String(repeating: " ", count: pad))
            lastLength = text.count
        } else if state.elapsedSeconds - lastPrint >= interval || state.step == state.totalSteps {
            write(text + "\n")
            lastPrint = state.elapsedSeconds
        }
    }

    public func message(_ text: String) {
        if isTerminal && lastLength > 0 { write("\n"); lastLength = 0 }
        write(prefix + text + "\n")
    }

    public func finish() {
        if isTerminal && lastLength > 0 { write("\n"); lastLength = 0 }
    }

    func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

/// Discards progress (tests, quiet runs).
public final class SilentProgress: ProgressSink {
    public init() {}
    public func update(_ state: ProgressState) {}
    public func message(_ text: String) {}
    public func finish() {}
}
