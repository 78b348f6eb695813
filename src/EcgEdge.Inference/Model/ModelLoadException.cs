namespace EcgEdge.Inference.Model;

/// <summary>Why a model was refused.</summary>
public enum ModelLoadFailure
{
    /// <summary>The manifest file is missing or unreadable.</summary>
    ManifestMissing,

    /// <summary>The manifest is not valid JSON or lacks required fields.</summary>
    ManifestInvalid,

    /// <summary>The model file named by the manifest is missing or unreadable.</summary>
    ModelMissing,

    /// <summary>The model file's size differs from the manifest's (e.g. truncated).</summary>
    SizeMismatch,

    /// <summary>The model file's sha256 differs from the manifest's (tampered or a different model).</summary>
    HashMismatch,

    /// <summary>ONNX Runtime cannot load the file as a model.</summary>
    ModelInvalid,

    /// <summary>The ONNX graph's inputs/outputs, or the manifest's signal description, do not fit what the device delivers.</summary>
    ContractMismatch,

    /// <summary>The model does not reproduce the reference outputs shipped with it (self-check).</summary>
    SelfCheckFailed,

    /// <summary>The manifest has no detached signature (<c>MANIFEST.sig</c>) while signed models are required.</summary>
    SignatureMissing,

    /// <summary>
    /// The signature file is malformed, or its signature does not verify over the manifest's bytes under the trusted key
    /// it names (the manifest was edited after signing, or the signature file was).
    /// </summary>
    SignatureInvalid,

    /// <summary>The manifest was signed by a key that is not in <c>Inference:TrustedKeys</c>.</summary>
    SignatureUntrusted,

    /// <summary>A trusted key of the configuration cannot be used (missing file, not a P-256 public key).</summary>
    TrustedKeysInvalid,
}

/// <summary>A model that must not be used: the worker refuses to start with it, and a hot swap keeps the running model.</summary>
public sealed class ModelLoadException(ModelLoadFailure failure, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ModelLoadFailure Failure { get; } = failure;
}
