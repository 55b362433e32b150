using System.Reflection;
using Aspire.Hosting.Redis;
using Microsoft.Extensions.Logging.Abstractions;

namespace Nvcf.AppHost.Tests;

/// <summary>What the hosting integration puts in the app model, checked without starting anything.</summary>
public sealed class IntegrationModelTests
{
    /// <summary>The app host of this repository: its assembly names the emulator it runs, as a package's app host would.</summary>
    private const string AppHostAssemblyName = "Nvcf.AppHost";

    [Fact]
    public async Task TheEmulatorRunsTheDllNamedInTheAppHostsAssemblyWithDotnetFromItsFolder()
    {
        var builder = Builder();

        var emulator = builder.AddNvcfEmulator("nvcf");

        var path = Assembly.Load(AppHostAssemblyName).GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Nvcf.Emulator.Path").Value;
        Assert.True(File.Exists(path), path);
        Assert.Equal(Path.GetFullPath(path!), emulator.Resource.EmulatorPath);
        Assert.Equal("Nvcf.Emulator.dll", Path.GetFileName(emulator.Resource.EmulatorPath));
        Assert.Equal(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet", emulator.Resource.Command);
        Assert.Equal(Path.GetDirectoryName(emulator.Resource.EmulatorPath), emulator.Resource.WorkingDirectory);
        var configuration = await ExecutionConfigurationBuilder.Create(emulator.Resource).WithArgumentsConfig()
            .BuildAsync(builder.ExecutionContext, NullLogger.Instance, CancellationToken.None);
        Assert.Equal([emulator.Resource.EmulatorPath], configuration.Arguments.Select(a => a.Value));
        Assert.IsAssignableFrom<IResourceWithServiceDiscovery>(emulator.Resource);
    }

    [Fact]
    public void TheEmulatorHasItsApiAndGrpcEndpointsAHealthCheckAndRedisStateWhenAsked()
    {
        var builder = Builder();

        var emulator = builder.AddNvcfEmulator("nvcf").WithRedisState();

        var endpoints = emulator.Resource.Annotations.OfType<EndpointAnnotation>().ToDictionary(e => e.Name);
        Assert.Equal("http", endpoints[NvcfEmulatorResource.HttpEndpointName].UriScheme);
        Assert.Equal("tcp", endpoints[NvcfEmulatorResource.GrpcEndpointName].UriScheme);
        Assert.Single(emulator.Resource.Annotations.OfType<HealthCheckAnnotation>());
        Assert.Single(emulator.Resource.Annotations.OfType<OtlpExporterAnnotation>());
        var redis = Assert.Single(builder.Resources.OfType<RedisResource>());
        Assert.Equal("nvcf-state", redis.Name);
        Assert.Single(emulator.Resource.Annotations.OfType<NvcfDurableStateAnnotation>());
        Assert.Contains(emulator.Resource.Annotations.OfType<WaitAnnotation>(), w => w.Resource == redis);
    }

    [Fact]
    public void AConfiguredEmulatorPathIsUsedInsteadOfTheAppHostsOne()
    {
        var dll = Path.Combine(Directory.CreateTempSubdirectory("nvcf-model-").FullName, "Nvcf.Emulator.dll");
        File.WriteAllText(dll, "");
        var builder = Builder();
        builder.Configuration["NvcfEmulator:Path"] = dll;

        var emulator = builder.AddNvcfEmulator("nvcf");

        Assert.Equal(dll, emulator.Resource.EmulatorPath);
        Assert.Equal(Path.GetDirectoryName(dll), emulator.Resource.WorkingDirectory);
    }

    [Fact]
    public void AMissingEmulatorFailsAtAddNvcfEmulatorWithTheFix()
    {
        var builder = Builder();
        builder.Configuration["NvcfEmulator:Path"] = "/nowhere/Nvcf.Emulator.dll";

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddNvcfEmulator("nvcf"));

        Assert.Contains("'/nowhere/Nvcf.Emulator.dll' (from the NvcfEmulator:Path configuration) does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reference the Nvcf.Emulator.Hosting package", error.Message, StringComparison.Ordinal);
        Assert.Contains("NvcfEmulatorPath", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAppHostWithoutTheEmulatorsPathFailsAtAddNvcfEmulatorWithTheFix()
    {
        // The test host's entry assembly: no Nvcf.Emulator.Path metadata, as in an app host without the package.
        var builder = DistributedApplication.CreateBuilder();

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddNvcfEmulator("nvcf"));

        Assert.Contains("has no 'Nvcf.Emulator.Path' assembly metadata", error.Message, StringComparison.Ordinal);
        Assert.Contains("Reference the Nvcf.Emulator.Hosting package", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFunctionIsAResourceUnderItsEmulatorWithItsDefinitionDeploymentAndCommands()
    {
        var builder = Builder();
        var emulator = builder.AddNvcfEmulator("nvcf");

        var function = emulator.AddNvcfFunction("echo", "nvcf-samples/echo:latest", "/echo", 8000)
            .WithDeployment(minInstances: 0, maxInstances: 3, maxRequestConcurrency: 8, gpu: "H100", instanceType: "local.GPU.H100_1x")
            .WithHealthUri("/health")
            .WithEnvironment("MODEL", "tiny");

        var resource = Assert.Single(builder.Resources.OfType<NvcfFunctionResource>());
        Assert.Same(function.Resource, resource);
        Assert.Same(emulator.Resource, resource.Emulator);
        Assert.Null(resource.Function);
        Assert.Equal("nvcf-samples/echo:latest", resource.Image);
        Assert.Equal("/echo", resource.InferenceUrl);
        Assert.Equal("/health", resource.HealthUri);
        Assert.Equal("tiny", resource.ContainerEnvironment["MODEL"]);
        Assert.Equal(new NvcfDeploymentSpecification(0, 3, 8, "H100", "local.GPU.H100_1x"), resource.Deployment);
        Assert.Contains(resource.Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Resource == emulator.Resource && r.Type == "Parent");
        Assert.Equal(
            [NvcfFunctionProperties.DeployCommand, NvcfFunctionProperties.UndeployCommand, NvcfFunctionProperties.RedeployCommand, NvcfFunctionProperties.RestartCommand,
                NvcfFunctionProperties.ReplaceInstanceCommand],
            resource.Annotations.OfType<ResourceCommandAnnotation>().Select(c => c.Name));
    }

    [Fact]
    public void AVersionInheritsItsFunctionsDefinitionAndOverridesWhatItSets()
    {
        var builder = Builder();
        var hello = builder.AddNvcfEmulator("nvcf").AddNvcfFunctionFromDockerfile("hello", "fn", "/echo", 8080)
            .WithHealthUri("/health").WithEnvironment("VERSION", "v1").WithEnvironment("MODEL", "tiny").WithDeployment(1, 1, 4);

        var version = hello.AddVersion("hello-v2").WithEnvironment("VERSION", "v2").WithDeployment(1, 2, 8);
        // Set on the function after AddVersion: the version still inherits them.
        hello.WithBuildArg("BASE", "busybox:1.36").WithEnvironment("LOG", "debug");
        version.WithBuildArg("FLAVOR", "fast");

        var v2 = version.Resource;
        Assert.Same(hello.Resource, v2.Function);
        Assert.Same(hello.Resource.Emulator, v2.Emulator);
        Assert.Equal("hello", v2.FunctionName);
        Assert.Contains(v2.Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Resource == hello.Resource && r.Type == "Parent");
        Assert.Equal(5, v2.Annotations.OfType<ResourceCommandAnnotation>().Count());
        Assert.Equal("/echo", v2.InferenceUrl);
        Assert.Equal(8080, v2.InferencePort);
        Assert.Equal("/health", v2.HealthUri);
        Assert.Equal(new Dictionary<string, string> { ["VERSION"] = "v2", ["MODEL"] = "tiny", ["LOG"] = "debug" }, v2.ContainerEnvironment);
        Assert.Equal(new Dictionary<string, string> { ["VERSION"] = "v1", ["MODEL"] = "tiny", ["LOG"] = "debug" }, hello.Resource.ContainerEnvironment);
        Assert.Equal(new NvcfDeploymentSpecification(1, 2, 8), v2.Deployment);
        Assert.Equal(new NvcfDeploymentSpecification(1, 1, 4), hello.Resource.Deployment);

        // Same Dockerfile, both sets of build arguments, its own image tag.
        Assert.Equal("nvcf-apphost/hello:dev", hello.Resource.Image);
        Assert.Equal("nvcf-apphost/hello-v2:dev", v2.Image);
        Assert.Equal(hello.Resource.ImageBuild!.ContextPath, v2.ImageBuild!.ContextPath);
        Assert.Equal(new Dictionary<string, string> { ["BASE"] = "busybox:1.36", ["FLAVOR"] = "fast" }, v2.ImageBuild.BuildArgs);
        Assert.Equal(new Dictionary<string, string> { ["BASE"] = "busybox:1.36" }, hello.Resource.ImageBuild.BuildArgs);
    }

    [Fact]
    public void AVersionOfAnImageFunctionRunsTheSameImageAndWhatItDoesNotSetFollowsTheFunction()
    {
        var builder = Builder();
        var echo = builder.AddNvcfEmulator("nvcf").AddNvcfFunction("echo", "nvcf-samples/echo:latest");
        var version = echo.AddVersion("echo-v2");

        echo.WithDeployment(2, 3, 5).WithHealthUri("/ready");

        Assert.Equal("nvcf-samples/echo:latest", version.Resource.Image);
        Assert.Null(version.Resource.ImageBuild);
        Assert.Equal(new NvcfDeploymentSpecification(2, 3, 5), version.Resource.Deployment);
        Assert.Equal("/ready", version.Resource.HealthUri);
        Assert.Throws<InvalidOperationException>(() => version.WithBuildArg("BASE", "x"));
        Assert.Throws<ArgumentException>(() => version.AddVersion("echo-v3"));
    }

    [Theory]
    [InlineData(-1, 1, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(0, 0, 1)]
    [InlineData(0, 1, 0)]
    [InlineData(0, 1, 16385)]
    public void DeploymentSettingsTheCloudWouldRefuseAreRefusedWhenTheAppHostIsBuilt(int minInstances, int maxInstances, int maxRequestConcurrency)
    {
        var builder = Builder();
        var function = builder.AddNvcfEmulator("nvcf").AddNvcfFunction("echo", "nvcf-samples/echo:latest");

        Assert.ThrowsAny<ArgumentException>(() => function.WithDeployment(minInstances, maxInstances, maxRequestConcurrency));
    }

    /// <summary>A builder for this repository's app host assembly, which names the emulator it runs.</summary>
    [Fact]
    public async Task WithApiKeyPassesTheKeyToTheEmulatorAndTheLastOneGivenWins()
    {
        var builder = Builder();
        var parameter = builder.AddParameter("key", "from-parameter", secret: true);

        var emulator = builder.AddNvcfEmulator("nvcf").WithApiKey(parameter);
        var fromParameter = Assert.Single(emulator.Resource.Annotations.OfType<NvcfApiKeyAnnotation>());
        Assert.True(fromParameter.IsSecret);
        Assert.Equal([parameter.Resource], fromParameter.Key.ValueProviders);

        emulator.WithApiKey("second");
        // The environment as the callbacks write it (resolving all of it would wait for endpoints that are never allocated here).
        var environment = new EnvironmentCallbackContext(builder.ExecutionContext);
        foreach (var callback in emulator.Resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(environment);
        }

        var key = Assert.IsType<ReferenceExpression>(environment.EnvironmentVariables["Emulator__ApiKeys__0"]);
        Assert.Equal("second", await key.GetValueAsync(CancellationToken.None));
        var literal = Assert.Single(emulator.Resource.Annotations.OfType<NvcfApiKeyAnnotation>());
        Assert.False(literal.IsSecret);
        Assert.Equal("second", await literal.Key.GetValueAsync(CancellationToken.None));
    }

    private static IDistributedApplicationBuilder Builder() =>
        DistributedApplication.CreateBuilder(new DistributedApplicationOptions { AssemblyName = AppHostAssemblyName, Args = [] });
}
