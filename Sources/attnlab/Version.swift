enum AttnLabVersion {
    static let string = "0.1.0"
}
