// The examples in each task's doc comment are the generator's real output for seed 0:
// if sampling changes, these fail, and the doc comment must be updated with them.

import Tasks
import Testing
import TensorCore

struct DocumentedExample: CustomTestStringConvertible, Sendable {
    let task: any SyntheticTask
    let text: String
    var testDescription: String { task.id.rawValue }
}

@Suite("Documented examples")
struct ExampleRenderingTests {
    static let examples: [DocumentedExample] = [
        DocumentedExample(task: try! MQARTask(vocabSize: 20, sequenceLength: 16, kvPairs: 2, alpha: 0.01), text: """
            inputs:   6 11  7 14  8 10 17 18  6  2  1  2 13  9  7  5
            targets:  ·  ·  ·  ·  ·  ·  ·  · 11  ·  ·  ·  ·  · 14  ·
            """),
        DocumentedExample(task: try! PasskeyTask(vocabSize: 20, sequenceLength: 12, distance: 5), text: """
            inputs:  16 17 11 14 17  0  2 15 18 19 12  1
            targets:  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  2
            """),
        DocumentedExample(task: try! CopyingTask(vocabSize: 20, sequenceLength: 10, stringLength: 4), text: """
            inputs:  12 15  3  9  0 12 15  3  9  1
            targets:  ·  ·  ·  · 12 15  3  9  ·  ·
            """),
        DocumentedExample(task: try! SelectiveCopyingTask(vocabSize: 10, sequenceLength: 14, dataTokens: 3), text: """
            inputs:  0 0 0 0 5 0 0 0 6 0 1 9 9 9
            targets: · · · · · · · · · · · 5 6 1
            """),
        DocumentedExample(task: try! MultiKeyNeedleTask(vocabSize: 20, sequenceLength: 16, needles: 2), text: """
            inputs:  16 17 19 19  0  2 12 17 16  0  5 13 17 14  1  2
            targets:  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  · 12
            """),
    ]

    @Test func everyKindIsDocumented() {
        #expect(Set(Self.examples.map(\.task.id)) == Set(TaskKind.allCases))
    }

    @Test(arguments: examples)
    func docCommentShowsTheRealOutput(_ e: DocumentedExample) {
        var rng = Xoshiro256StarStar(seed: 0)
        let got = e.task.batch(size: 1, rng: &rng).rendered(row: 0)
        #expect(got == e.text, "update the doc comment of \(type(of: e.task)) (\(e.task.configDescription)) to:\n\(got)")
    }
}
