using Docker.DotNet;
using Docker.DotNet.Models;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.Tests.Infrastructure;

namespace Nvcf.Emulator.Tests.Docker;

/// <summary>
/// The emulator in process on the real Docker engine. These tests never skip: without an engine, or without
/// the images <c>eng/setup.sh</c> builds, they fail and say what to run.
/// </summary>
public sealed class DockerFixture : IAsyncLifetime
{
    public const string EchoImage = "nvcf-samples/echo:latest";
    public const string CgiImage = "nvcf-test/busybox-cgi:latest";
    public const string GrpcImage = "nvcf-samples/grpc-echo:latest";
    public const string StreamingImage = "nvcf-samples/streaming:latest";
    public const string ProgressImage = "nvcf-samples/progress:latest";
    public const string CudaImage = "nvcf-samples/cuda:latest";

    public DockerClient Docker { get; } = new DockerClientBuilder().Build();

    public EmulatorFactory Factory { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            await Docker.System.PingAsync();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"The Docker engine is not reachable ({e.Message}). Run eng/setup.sh, which installs and starts one.", e);
        }

        foreach (var image in new[] { EchoImage, CgiImage, GrpcImage, StreamingImage, ProgressImage, CudaImage })
        {
            try
            {
                await Docker.Images.InspectImageAsync(image);
            }
            catch (DockerImageNotFoundException)
            {
                throw new InvalidOperationException($"The test image {image} is missing. Run eng/setup.sh, which builds it.");
            }
        }

        Factory = new EmulatorFactory(settings: new Dictionary<string, string?> { ["Emulator:ReadyTimeout"] = "00:01:00" });
        Http = Factory.CreateNvcfClient();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Factory.DisposeAsync();
        Docker.Dispose();
    }

    /// <summary>A running container that sleeps for ten minutes, with <paramref name="labels"/>; returns its ID.</summary>
    public async Task<string> CreateSleeperAsync(Dictionary<string, string> labels)
    {
        var created = await Docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = CgiImage,
            Cmd = ["sleep", "600"],
            Labels = labels,
        });
        await Docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        return created.ID;
    }

    /// <summary>The emulator's containers of one function, running or not.</summary>
    public async Task<IList<ContainerListResponse>> ContainersOfAsync(Guid functionId) =>
        await Docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.FunctionId}={functionId}"] = true },
            },
        });
}

[CollectionDefinition(Name)]
public sealed class DockerCollection : ICollectionFixture<DockerFixture>
{
    public const string Name = "Docker engine";
}
