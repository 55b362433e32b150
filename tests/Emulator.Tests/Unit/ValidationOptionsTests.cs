using Nvcf.Emulator.Validation;

namespace Nvcf.Emulator.Tests.Unit;

public class ValidationOptionsTests
{
    [Fact]
    public void DefaultsAreNvcfs()
    {
        var options = ValidationOptions.Parse(["my-fn:1", "--inference-url", "/infer"], out var error);

        Assert.Null(error);
        Assert.NotNull(options);
        Assert.Equal(("my-fn:1", "/infer", 8000, "/v2/health/ready", 200, "{}"), (options.Image, options.InferenceUrl, options.InferencePort, options.HealthUri, options.HealthExpectedStatus, options.Body));
        Assert.Null(options.HealthPort);
        Assert.Equal(TimeSpan.FromMinutes(5), options.Timeout);
        Assert.False(options.Gpu);
        Assert.False(options.Json);
    }

    [Fact]
    public void EveryOptionIsRead()
    {
        var options = ValidationOptions.Parse(
            ["--inference-url", "/v2/models/m/infer", "--inference-port", "9000", "--health-uri", "/health", "--health-port", "9001",
             "--health-status", "204", "--body", """{"a":1}""", "--env", "A=1", "--env", "B=x=y", "--gpu", "--timeout", "00:01:30", "--json", "img"],
            out var error)!;

        Assert.Null(error);
        Assert.Equal(("img", 9000, "/health", 9001, 204, """{"a":1}"""), (options.Image, options.InferencePort, options.HealthUri, options.HealthPort, options.HealthExpectedStatus, options.Body));
        Assert.Equal([new("A", "1"), new("B", "x=y")], options.Environment);
        Assert.Equal(TimeSpan.FromSeconds(90), options.Timeout);
        Assert.True(options.Gpu && options.Json);
        Assert.Equal(TimeSpan.FromSeconds(45), ValidationOptions.Parse(["img", "--inference-url", "/x", "--timeout", "45"], out _)!.Timeout);
    }

    [Theory]
    [InlineData(new[] { "--inference-url", "/x" }, "Give the image to validate")]
    [InlineData(new[] { "img" }, "--inference-url is required")]
    [InlineData(new[] { "img", "--inference-url", "/x", "--inference-port", "80000" }, "--inference-port must be a port number (1-65535), not '80000'.")]
    [InlineData(new[] { "img", "--inference-url", "/x", "--env", "NOVALUE" }, "--env takes KEY=VALUE, not 'NOVALUE'.")]
    [InlineData(new[] { "img", "--inference-url", "/x", "--body", "{oops" }, "--body must be JSON")]
    [InlineData(new[] { "img", "--inference-url", "/x", "--timeout", "soon" }, "--timeout takes seconds or hh:mm:ss, not 'soon'.")]
    [InlineData(new[] { "img", "--inference-url", "/x", "--health-status", "99" }, "--health-status must be an HTTP status code, not '99'.")]
    [InlineData(new[] { "img", "--inference-url" }, "--inference-url needs a value.")]
    [InlineData(new[] { "img", "other", "--inference-url", "/x" }, "Unexpected argument 'other': give one image.")]
    [InlineData(new[] { "img", "--inference-url", "/x", "--port", "1" }, "Unknown option '--port'.")]
    public void BadInputIsAUsageErrorNamingTheOption(string[] args, string expected)
    {
        Assert.Null(ValidationOptions.Parse(args, out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }
}
