using Aspire.Hosting.Redis;

namespace Nvcf.AppHost.Tests;

/// <summary>What the hosting integration puts in the app model, checked without starting anything.</summary>
public sealed class IntegrationModelTests
{
    [Fact]
    public void AFunctionIsAResourceUnderItsEmulatorWithItsDefinitionDeploymentAndCommands()
    {
        var builder = DistributedApplication.CreateBuilder();
        var emulator = builder.AddNvcfEmulator<Projects.Emulator>("nvcf");

        var function = emulator.AddNvcfFunction("echo", "nvcf-samples/echo:latest", "/echo", 8000)
            .WithDeployment(minInstances: 0, maxInstances: 3, maxRequestConcurrency: 8, gpu: "H100", instanceType: "local.GPU.H100_1x")
            .WithHealthUri("/health")
            .WithEnvironment("MODEL", "tiny");

        var resource = Assert.Single(builder.Resources.OfType<NvcfFunctionResource>());
        Assert.Same(function.Resource, resource);
        Assert.Same(emulator.Resource, resource.Emulator);
        Assert.Equal("nvcf-samples/echo:latest", resource.Image);
        Assert.Equal("/echo", resource.InferenceUrl);
        Assert.Equal("/health", resource.HealthUri);
        Assert.Equal("tiny", resource.Environment["MODEL"]);
        Assert.Equal(new NvcfDeploymentSpecification(0, 3, 8, "H100", "local.GPU.H100_1x"), resource.Deployment);
        Assert.Contains(resource.Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Resource == emulator.Resource && r.Type == "Parent");
        Assert.Equal(
            [NvcfFunctionProperties.DeployCommand, NvcfFunctionProperties.UndeployCommand, NvcfFunctionProperties.RedeployCommand, NvcfFunctionProperties.RestartCommand],
            resource.Annotations.OfType<ResourceCommandAnnotation>().Select(c => c.Name));
    }

    [Fact]
    public void TheEmulatorHasItsApiAndGrpcEndpointsAndRedisStateWhenAsked()
    {
        var builder = DistributedApplication.CreateBuilder();

        var emulator = builder.AddNvcfEmulator<Projects.Emulator>("nvcf").WithRedisState();

        var endpoints = emulator.Resource.Annotations.OfType<EndpointAnnotation>().ToDictionary(e => e.Name);
        Assert.Equal("http", endpoints["http"].UriScheme);
        Assert.Equal("tcp", endpoints["grpc"].UriScheme);
        var redis = Assert.Single(builder.Resources.OfType<RedisResource>());
        Assert.Equal("nvcf-state", redis.Name);
        Assert.Single(emulator.Resource.Annotations.OfType<NvcfDurableStateAnnotation>());
        Assert.Contains(emulator.Resource.Annotations.OfType<WaitAnnotation>(), w => w.Resource == redis);
    }

    [Theory]
    [InlineData(-1, 1, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(0, 0, 1)]
    [InlineData(0, 1, 0)]
    [InlineData(0, 1, 16385)]
    public void DeploymentSettingsTheCloudWouldRefuseAreRefusedWhenTheAppHostIsBuilt(int minInstances, int maxInstances, int maxRequestConcurrency)
    {
        var builder = DistributedApplication.CreateBuilder();
        var function = builder.AddNvcfEmulator<Projects.Emulator>("nvcf").AddNvcfFunction("echo", "nvcf-samples/echo:latest");

        Assert.ThrowsAny<ArgumentException>(() => function.WithDeployment(minInstances, maxInstances, maxRequestConcurrency));
    }
}
