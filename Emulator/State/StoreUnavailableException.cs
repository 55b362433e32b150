namespace Nvcf.Emulator.State;

/// <summary>The state store cannot be reached; the API answers 503 with <see cref="Exception.Message"/>.</summary>
public sealed class StoreUnavailableException(string endpoint, string cause, Exception? inner = null)
    : Exception($"The state store (Redis at {endpoint}) is unavailable: {cause}", inner)
{
    public string Endpoint { get; } = endpoint;
}
