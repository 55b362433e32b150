using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml;

namespace Nvcf.Emulator.Api.Contracts;

/// <summary>
/// Source-generated JSON for every wire type, with the control plane's conventions (docs/nvcf-contract.md#json):
/// camelCase, nulls omitted, enums as upper-case strings read case-insensitively, unknown properties ignored, duplicate
/// keys rejected.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateFunctionRequest))]
[JsonSerializable(typeof(UpdateFunctionRequest))]
[JsonSerializable(typeof(UpdateSecretsRequest))]
[JsonSerializable(typeof(FunctionResponse))]
[JsonSerializable(typeof(FunctionListResponse))]
[JsonSerializable(typeof(FunctionIdsResponse))]
[JsonSerializable(typeof(DeploymentRequest))]
[JsonSerializable(typeof(UpdateGpuSpecificationRequest))]
[JsonSerializable(typeof(DeploymentResponse))]
[JsonSerializable(typeof(GpuSpecificationResponse))]
[JsonSerializable(typeof(EnvelopeRequest))]
[JsonSerializable(typeof(InvokeFunctionResponse))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(QueuesResponse))]
[JsonSerializable(typeof(QueuePosition))]
[JsonSerializable(typeof(ClusterGroupsResponse))]
[JsonSerializable(typeof(CreateAssetRequest))]
[JsonSerializable(typeof(CreateAssetResponse))]
[JsonSerializable(typeof(AssetResponse))]
[JsonSerializable(typeof(AssetListResponse))]
[JsonSerializable(typeof(AddRegistryCredentialRequest))]
[JsonSerializable(typeof(UpdateRegistryCredentialRequest))]
[JsonSerializable(typeof(RegistryCredentialDetailsResponse))]
[JsonSerializable(typeof(ListRegistryCredentialDetailsResponse))]
[JsonSerializable(typeof(RecognizedRegistriesResponse))]
[JsonSerializable(typeof(TelemetryRequest))]
[JsonSerializable(typeof(TelemetryResponse))]
[JsonSerializable(typeof(ListTelemetryResponse))]
[JsonSerializable(typeof(UpdateTelemetrySecretRequest))]
[JsonSerializable(typeof(AuthorizedPartiesRequest))]
[JsonSerializable(typeof(PatchAuthorizedPartyRequest))]
[JsonSerializable(typeof(AuthorizedPartiesResponse))]
[JsonSerializable(typeof(ListAuthorizedPartiesResponse))]
internal sealed partial class NvcfJsonContext : JsonSerializerContext
{
    /// <summary>Applies the wire conventions to the API's serializer options.</summary>
    public static void Configure(JsonSerializerOptions options)
    {
        options.TypeInfoResolverChain.Insert(0, Default);
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.AllowDuplicateProperties = false;
        options.Converters.Add(new WireEnumConverterFactory());
        options.Converters.Add(new IsoDurationConverter());
    }
}

/// <summary>ISO-8601 durations such as <c>PT10S</c>, as the control plane writes <c>health.timeout</c>.</summary>
internal sealed class IsoDurationConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        try
        {
            return XmlConvert.ToTimeSpan(text ?? string.Empty);
        }
        catch (FormatException)
        {
            throw new JsonException($"'{text}' is not an ISO-8601 duration such as PT10S.");
        }
    }

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
        writer.WriteStringValue(XmlConvert.ToString(value));
}

/// <summary>
/// Enums as the control plane writes them: upper snake case (<c>PREDICT_V2</c>) unless a member names itself
/// with <see cref="JsonStringEnumMemberNameAttribute"/> (<c>gRPC</c>); read case-insensitively; numbers refused.
/// </summary>
internal sealed class WireEnumConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(WireEnumConverter<>).MakeGenericType(typeToConvert))!;

    private sealed class WireEnumConverter<T> : JsonConverter<T>
        where T : struct, Enum
    {
        private readonly Dictionary<T, string> _names = [];
        private readonly Dictionary<string, T> _values = new(StringComparer.OrdinalIgnoreCase);

        public WireEnumConverter()
        {
            foreach (var field in typeof(T).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
            {
                var value = (T)field.GetValue(null)!;
                var name = field.GetCustomAttributes(typeof(JsonStringEnumMemberNameAttribute), false) is [JsonStringEnumMemberNameAttribute attribute]
                    ? attribute.Name
                    : JsonNamingPolicy.SnakeCaseUpper.ConvertName(field.Name);
                _names[value] = name;
                _values[name] = value;
                _values[field.Name] = value;
            }
        }

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String && _values.TryGetValue(reader.GetString()!, out var value)
                ? value
                : throw new JsonException($"Expected one of {string.Join(", ", _names.Values)}.");

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WriteStringValue(_names[value]);
    }
}
