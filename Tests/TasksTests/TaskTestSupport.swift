// Shared by the task tests: a labelled list of configurations of every task (odd sizes
// included), and oracles that solve each task from the inputs up to each position only,
// which checks that every scored target is determined by what a causal model has read.

import Tasks
import Testing
import TensorCore

/// A task configuration with a readable label for parametrised tests.
struct TaskCase: CustomTestStringConvertible, Sendable {
    let task: any SyntheticTask
    var testDescription: String { "\(task.id.rawValue) \(task.configDescription)" }
}

/// Every task kind at several sizes, odd ones included; `coversEveryKind` checks the list.
let sampleTasks: [TaskCase] = {
    var tasks: [any SyntheticTask] = []
    tasks.append(try! MQARTask(vocabSize: 20, sequenceLength: 16, kvPairs: 2))
    tasks.append(try! MQARTask(vocabSize: 8192, sequenceLength: 64, kvPairs: 4))
    tasks.append(try! MQARTask(vocabSize: 31, sequenceLength: 63, kvPairs: 7, alpha: 0.5))
    tasks.append(try! MQARTask(vocabSize: 8, sequenceLength: 13, kvPairs: 3, alpha: 1))
    tasks.append(try! PasskeyTask(vocabSize: 20, sequenceLength: 12, distance: 5))
    tasks.append(try! PasskeyTask(vocabSize: 7, sequenceLength: 3, distance: 1))
    tasks.append(try! PasskeyTask(vocabSize: 101, sequenceLength: 100, distances: 1...98))
    tasks.append(try! CopyingTask(vocabSize: 20, sequenceLength: 10, stringLength: 4))
    tasks.append(try! CopyingTask(vocabSize: 4, sequenceLength: 3))
    tasks.append(try! CopyingTask(vocabSize: 29, sequenceLength: 64))
    tasks.append(try! SelectiveCopyingTask(vocabSize: 10, sequenceLength: 14, dataTokens: 3))
    tasks.append(try! SelectiveCopyingTask(vocabSize: 4, sequenceLength: 2, dataTokens: 1))
    tasks.append(try! SelectiveCopyingTask(vocabSize: 16, sequenceLength: 127, dataTokens: 16))
    tasks.append(try! MultiKeyNeedleTask(vocabSize: 20, sequenceLength: 16, needles: 2))
    tasks.append(try! MultiKeyNeedleTask(vocabSize: 8, sequenceLength: 7, needles: 1))
    tasks.append(try! MultiKeyNeedleTask(vocabSize: 512, sequenceLength: 128, needles: 41, distance: 60))
    return tasks.map { TaskCase(task: $0) }
}()

/// Predictions from the inputs alone, position by position, reading only inputs[0...i]
/// for position i (the prefix is passed, never the whole row). Ignored positions get -1.
/// `shift` moves the answer one position later (the wrong convention), to show the
/// oracle test fails when targets and inputs are misaligned.
func oraclePredictions(_ task: any SyntheticTask, inputs row: [Int], shift: Int = 0) -> [Int] {
    (0..<row.count).map { i in
        let j = i - shift
        guard j >= 0 else { return -1 }
        return oracle(task, prefix: Array(row[0...j]))
    }
}

/// What an ideal causal model outputs after reading `prefix` (its last token is the
/// current position), or -1 where the task asks nothing.
func oracle(_ task: any SyntheticTask, prefix: [Int]) -> Int {
    let i = prefix.count - 1
    switch task {
    case let t as MQARTask:
        let n = t.kvPairs
        guard i >= 2 * n else { return -1 }
        for k in 0..<n where prefix[2 * k] == prefix[i] { return prefix[2 * k + 1] }
        return -1
    case is PasskeyTask:
        guard prefix[i] == PasskeyTask.queryToken, let m = prefix.firstIndex(of: PasskeyTask.markerToken), m + 1 < i else { return -1 }
        return prefix[m + 1]
    case let t as CopyingTask:
        let l = t.stringLength
        guard i >= l, i < 2 * l else { return -1 }
        return prefix[i - l]  // the delimiter at L answers s_0 = prefix[0]; L + j answers s_j
    case let t as SelectiveCopyingTask:
        let c = t.contextLength
        guard i >= c else { return -1 }
        let data = prefix[0..<c].filter { $0 != SelectiveCopyingTask.noiseToken }
        return data[i - c]
    case is MultiKeyNeedleTask:
        // After the query marker and a key: the value of the needle with that key.
        guard i >= 1, prefix[i - 1] == MultiKeyNeedleTask.queryToken else { return -1 }
        for m in 0..<max(0, i - 3) where prefix[m] == MultiKeyNeedleTask.markerToken && prefix[m + 1] == prefix[i] {
            return prefix[m + 2]
        }
        return -1
    default:
        fatalError("no oracle for \(task.id)")
    }
}

/// `body` must throw a `TaskConfigError` whose message contains every string in `named`.
func expectConfigError(_ named: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("accepted an invalid configuration (expected an error naming \(named))", sourceLocation: sourceLocation)
    } catch let e as TaskConfigError {
        for s in named {
            #expect("\(e)".contains(s), "message '\(e)' does not contain '\(s)'", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("threw \(type(of: error)) '\(error)', expected TaskConfigError", sourceLocation: sourceLocation)
    }
}
