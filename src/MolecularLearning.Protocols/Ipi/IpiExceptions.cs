using MolecularLearning.Core;

namespace MolecularLearning.Protocols.Ipi;

/// <summary>
/// The peer broke the i-PI protocol: a malformed or unknown header, a wrong atom count, non-finite
/// numbers, an absurd size, or a connection closed in the middle of a message.
/// </summary>
public sealed class IpiProtocolException(string message, Exception? inner = null) : DataException(message, inner);

public enum IpiTimeoutKind
{
    /// <summary>No client connected within <see cref="IpiServerOptions.ConnectTimeout"/> (or no server came up for a client).</summary>
    Connect,
    /// <summary>A connected peer did not complete a request within the request timeout.</summary>
    Request,
}

/// <summary>
/// An i-PI peer did not come or did not answer in time. A driver catches this to write a checkpoint
/// and stop; the message says which timeout expired and how to change it.
/// </summary>
public sealed class IpiTimeoutException(IpiTimeoutKind kind, string message) : DataException(message)
{
    public IpiTimeoutKind Kind { get; } = kind;
}
