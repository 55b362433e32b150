using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Nvcf.DiscoveryClient;

/// <summary>
/// The function ID to invoke: <c>Nvcf:FunctionId</c> when configured (the app host passes the ID it deployed),
/// else the ID of the function named <c>Nvcf:FunctionName</c>, looked up once with <c>GET /v2/nvcf/functions</c>.
/// </summary>
public sealed class FunctionLocator(IHttpClientFactory httpClientFactory, IOptions<NvcfOptions> options)
{
    private readonly SemaphoreSlim _lookup = new(1, 1);
    private Guid? _found;

    public async Task<Guid> FunctionIdAsync(CancellationToken cancellationToken)
    {
        var nvcf = options.Value;
        if (nvcf.FunctionId is { } configured)
        {
            return configured;
        }

        if (_found is { } found)
        {
            return found;
        }

        var name = string.IsNullOrEmpty(nvcf.FunctionName)
            ? throw new InvalidOperationException("Set Nvcf:FunctionId (or Nvcf:FunctionName to look it up by name).")
            : nvcf.FunctionName;
        await _lookup.WaitAsync(cancellationToken);
        try
        {
            _found ??= await LookUpAsync(name, nvcf.ApiKey, cancellationToken);
            return _found.Value;
        }
        finally
        {
            _lookup.Release();
        }
    }

    private async Task<Guid> LookUpAsync(string name, string? apiKey, CancellationToken cancellationToken)
    {
        var http = httpClientFactory.CreateClient(NvcfOptions.HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, "v2/nvcf/functions?visibility=private");
        if (!string.IsNullOrEmpty(apiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var list = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        foreach (var function in list.RootElement.GetProperty("functions").EnumerateArray())
        {
            if (function.GetProperty("name").GetString() == name && function.GetProperty("id").TryGetGuid(out var id))
            {
                return id;
            }
        }

        throw new InvalidOperationException($"No function named '{name}' at {http.BaseAddress}.");
    }
}
