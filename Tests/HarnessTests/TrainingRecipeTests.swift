// TrainingRecipe's task knobs and accuracy by distance: `needles` belongs to
// multikey-needle alone (an error elsewhere, from the CLI and from a spec), defaults to
// 4 there, and distance-controlled tasks trained over every distance get one accuracy
// per evaluation distance while the others get none.

import Attention
import Tasks
import Testing
@testable import Harness

@Suite("Training recipe: task knobs and accuracy by distance")
struct TrainingRecipeTests {
    func tiny(_ task: TaskKind, needles: Int? = nil, distance: Int? = nil) -> TrainingRecipe {
        var r = TrainingRecipe(variant: .mha)
        r.task = task; r.seqLen = 16; r.vocab = 20; r.kvPairs = 2; r.dataTokens = 4
        r.dModel = 8; r.layers = 1; r.heads = 2; r.needles = needles; r.distance = distance
        r.train.batchSize = 2; r.train.evalExamples = 4; r.train.warmupSteps = 1; r.train.maxSteps = 1
        return r
    }

    @Test(arguments: [TaskKind.mqar, .passkey, .copying, .selectiveCopying])
    func needlesIsRejectedForOtherTasks(_ task: TaskKind) throws {
        try tiny(task).validate()
        expectBadInput(["--needles does not apply to task \(task.rawValue)", "it applies to: multikey-needle"]) {
            try tiny(task, needles: 4).validate()
        }
    }

    @Test func needlesDefaultsToFourAndReachesTheTask() throws {
        let byDefault = try #require(try tiny(.multikeyNeedle).makeTask() as? MultiKeyNeedleTask)
        #expect(byDefault.needles == TrainingRecipe.defaultNeedles && byDefault.needles == 4)
        #expect(byDefault.distances == byDefault.validDistances)
        let fixed = try #require(try tiny(.multikeyNeedle, needles: 3, distance: 9).makeTask() as? MultiKeyNeedleTask)
        #expect(fixed.needles == 3 && fixed.distances == 9...9)
        let e = #expect(throws: TaskConfigError.self) { try tiny(.multikeyNeedle, needles: 5).validate() }
        #expect(e?.parameter == "needles" && "\(e.map(String.init(describing:)) ?? "")".contains("1...4"), "\(String(describing: e))")
    }

    @Test func cueStepsApplyOnlyToTasksWithACue() throws {
        var r = tiny(.mqar)
        r.train.cueSteps = 1
        expectBadInput(["--cue-steps 1 does not apply to task mqar", "applies to: multikey-needle"]) { try r.validate() }
        var n = tiny(.multikeyNeedle, needles: 2)
        n.train.cueSteps = 1
        try n.validate()
    }

    @Test func aSpecGivingNeedlesToMQARIsRejected() throws {
        let dir = try TempDir()
        let path = try dir.write("tiny-train.json", try json(trainSpec(variants: ["mha"], set: ["needles": 4])))
        expectBadInput(["--needles does not apply to task mqar", "multikey-needle"]) { _ = try ExperimentSpec.load(path: path) }
        let questions = try dir.write("tiny-train.json", try json(trainSpec(variants: ["mha"], set: ["questions": 2])))
        expectBadInput(["--questions does not apply to task mqar", "multikey-needle"]) { _ = try ExperimentSpec.load(path: questions) }
        #expect(TrainingExperiment.parameterNames.suffix(3) == ["needles", "questions", "cue_steps"])
    }

    @Test func accuracyByDistanceCoversTheEvaluationDistances() throws {
        for task in [TaskKind.passkey, .multikeyNeedle] {
            let r = tiny(task, needles: task == .multikeyNeedle ? 2 : nil)
            let trainer = try r.makeTrainer()
            let valid = (try r.makeTask() as! any DistanceControlledTask).validDistances
            let got = try #require(try r.accuracyByDistance(of: trainer, examples: 3))
            #expect(got.map(\.distance) == TrainingRecipe.evaluationDistances(in: valid), "\(task)")
            #expect(got.allSatisfy { (0...1).contains($0.accuracy) })
            // The same seed evaluates the same examples.
            #expect(try r.accuracyByDistance(of: trainer, examples: 3)!.map(\.accuracy) == got.map(\.accuracy))
        }
        let mqar = tiny(.mqar)
        #expect(try mqar.accuracyByDistance(of: mqar.makeTrainer(), examples: 3) == nil)
        let fixed = tiny(.multikeyNeedle, distance: 5)
        #expect(try fixed.accuracyByDistance(of: fixed.makeTrainer(), examples: 3) == nil)
    }
}
