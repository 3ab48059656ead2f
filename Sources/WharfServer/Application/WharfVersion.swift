/// The version `wharf version` prints.
public enum WharfVersion {
    public static let string = "0.1.0"
}
