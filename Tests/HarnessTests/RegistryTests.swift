// The extension path: everything outside a mechanism's own file reads the registry, so a
// new mechanism appears in every figure, table and claim without further edits.

import Attention
import Foundation
import Testing
@testable import Harness

@Suite("Mechanism registry")
struct RegistryTests {
    @Test func seriesFollowTheRegistryWithPathsAfterTheirMechanism() {
        // The six mechanisms come first, in this order (a new one joins after them).
        let ids = Series.all.map(\.id)
        #expect(Array(ids.prefix(8)) == ["mha", "gqa", "mqa", "swa", "linear", "mla", "mla-naive", "mla-absorbed"])
        #expect(ids.count == Variant.allCases.count + Variant.allCases.map { $0.descriptor.inferencePaths.count }.reduce(0, +))
        #expect(Series.label("mla-absorbed") == "MLA (absorbed)")
        #expect(Series.label("gqa") == "GQA")
        #expect(Series.deployed(.mla) == "mla-absorbed" && Series.deployed(.mha) == "mha")
    }

    @Test func everySeriesHasItsOwnLookExceptPathsSharingTheirMechanisms() {
        // A series differs from every other in colour, marker or dash; the deployed path may
        // look like its mechanism (the same thing, timed on its own).
        let all = Series.all
        for (i, a) in all.enumerated() {
            for b in all[(i + 1)...] where !(a.path == nil && b.variant == a.variant && Series.deployed(a.variant) == b.id) {
                #expect(a.style != b.style, "\(a.id) and \(b.id) look the same")
            }
        }
        for s in all { #expect(s.style != Series.otherStyle, "\(s.id) looks like the non-mechanism bars") }
        #expect(!Series.freeStyles.contains(Series.otherStyle))
    }

    @Test func gnuplotSeriesFileDefinesEverySeries() {
        let text = Series.gnuplot()
        #expect(text.contains("SERIES = \"\(Series.all.map(\.id).joined(separator: " "))\""))
        #expect(text.contains("WINDOWED = \"\(Variant.with(.window).map(\.rawValue).joined(separator: " "))\""))
        #expect(text.contains("WINDOWED = \"swa"))
        #expect(text.contains("OTHER = \(Series.all.count + 1)"))
        for (i, s) in Series.all.enumerated() {
            #expect(text.contains("s eq \"\(s.id)\" ? \(i + 1)"))
            #expect(text.contains("set linetype \(i + 1) lc rgb \"\(s.style.color)\" pt \(s.style.pointType)"))
        }
        // gnuplot substitutes backquotes even in comments of a loaded file.
        #expect(!text.contains("`"))
    }

    @Test func macroWordsSpellDigitsSoNumberedIdsStayApart() {
        #expect(macroWord("gqa4") != macroWord("gqa8"))
        #expect(macroWord("gqa4") == "GqaFour")  // not registered: letters as they are
        #expect(macroWord("mla-naive") == "MLANaive")
        #expect(macroWord("x2-y") == "XTwoY")
        #expect(macroWord("gqa4").allSatisfy { $0.isLetter })
    }

    @Test func knobOwnersComeFromTheMechanisms() throws {
        for (knob, owners) in TrainingRecipe.knobOwners {
            for v in Variant.allCases { #expect(owners.contains(v) == v.knobs.contains(knob), "\(knob) \(v)") }
        }
        #expect(TrainingExperiment.parameterNames.filter { Set(Knob.allCases.map(\.specKey)).contains($0) }.count == Knob.allCases.count)
        var r = TrainingRecipe(variant: .mha)
        r.window = 8
        #expect(throws: HarnessError.self) { try r.validate() }
        r = TrainingRecipe(variant: .swa)
        r.heads = 2
        r.window = 8
        #expect(r.modelConfig().attention.slidingWindow == 8)
        try r.validate()
    }

    @Test func baselineIsFullAttention() {
        #expect(Variant.baseline.cacheGrowth == .perToken)
        #expect(Variant.baseline.knobs.isEmpty)
        #expect(!Variant.with(.window).isEmpty && !Variant.with(.fixed).isEmpty)
    }

    /// Done-when of the extension issue: no figure script, report section or spec
    /// validation names a mechanism id except through the registry.
    @Test func noFigureReportOrValidationNamesAMechanismId() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let ids = Variant.allCases.map(\.rawValue)
        var files = try FileManager.default.contentsOfDirectory(atPath: "\(root)/paper/figures").filter { $0.hasSuffix(".gp") }.map { "paper/figures/\($0)" }
        files += try FileManager.default.contentsOfDirectory(atPath: "\(root)/Sources/Harness/Report").filter { $0.hasSuffix(".swift") }.map { "Sources/Harness/Report/\($0)" }
        files += ["Sources/Harness/TrainingRecipe.swift", "Sources/Harness/TrainingExperiment.swift", "Sources/Harness/ExperimentSpec.swift"]
        #expect(files.count > 15)
        var offenders: [String] = []
        for f in files {
            let text = try String(contentsOfFile: "\(root)/\(f)", encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") || code.hasPrefix("#") { continue }   // comments may give examples
                for id in ids where line.contains("\"\(id)\"") || line.contains("\"\(id)-") || line.contains("Variant.\(id)") || line.contains("== .\(id)") {
                    offenders.append("\(f):\(n + 1): \(id)")
                }
            }
        }
        #expect(offenders.isEmpty, "mechanism ids outside the registry:\n\(offenders.joined(separator: "\n"))")
    }
}

@Suite("Claims: prose and checks")
struct ClaimCatalogTests {
    /// Every \checkedclaim{id} in the report names a check, and every check is made in the prose.
    @Test func proseAndChecksAgreeInBothDirections() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let tex = try String(contentsOfFile: "\(root)/paper/report.tex", encoding: .utf8)
        let marked = Set(tex.matches(of: #/\\checkedclaim\{([^}]*)\}/#).map { String($0.1) })
        let checked = Set(ClaimID.allCases.map(\.rawValue))
        #expect(marked.subtracting(checked).isEmpty, "marked in the prose without a check: \(marked.subtracting(checked).sorted())")
        #expect(checked.subtracting(marked).isEmpty, "checked without a sentence in the prose: \(checked.subtracting(marked).sorted())")
    }

    @Test func statementsNameNoMechanismIdExceptAsAnExample() {
        // Statements about the mechanisms speak of properties; a named mechanism is only an
        // example in brackets (MQA, absorbed MLA) or a published model (DeepSeek, Mistral, Gemma).
        for c in ClaimID.allCases where c != .dsv2Table1 && c != .deepseekV3Reduction {
            let words = Set(c.statement.replacing(#/\([^)]*\)/#, with: "").split { !$0.isLetter }.map(String.init))
            for v in Variant.allCases {
                #expect(!words.contains(v.displayName), "\(c.rawValue) names \(v.displayName)")
            }
        }
    }
}

@Suite("Same model under two names")
struct SameModelTests {
    @Test func aPresetThatIsAnotherMechanismAtTheseSizesIsNamed() throws {
        let dir = try TempDir()
        // One query head: MQA's single kv head is MHA's.
        var spec = trainSpec(variants: ["mha", "mqa", "swa"], set: ["heads": 1])
        spec["variant_base"] = ["swa": ["window": 8]]
        try dir.write("specs/same.json", try json(spec.merging(["name": "same"]) { $1 }))
        let runs = try ExperimentSpec.load(path: dir.file("specs/same.json")).runs(profile: .smoke)
        let notes = TrainingExperiment.sameModelNotes(runs)
        #expect(notes == ["mqa trains the same model as mha in same (1 heads, 1 kv heads): its results can only repeat mha's"])
        // With four heads they differ, and nothing is said.
        #expect(TrainingExperiment.sameModelNotes(try trainSpecRuns(dir, heads: 4)).isEmpty)
    }

    private func trainSpecRuns(_ dir: TempDir, heads: Int) throws -> [RunSpec] {
        try dir.write("specs/four.json", try json(trainSpec(name: "four", variants: ["mha", "mqa"], set: ["heads": heads])))
        return try ExperimentSpec.load(path: dir.file("specs/four.json")).runs(profile: .smoke)
    }
}
