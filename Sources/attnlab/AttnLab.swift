import ArgumentParser
import TensorCore

@main
struct AttnLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attnlab",
        abstract: "A reproducible harness that compares attention mechanisms on the CPU.",
        version: AttnLabVersion.string,
        subcommands: [Info.self]
    )
}
