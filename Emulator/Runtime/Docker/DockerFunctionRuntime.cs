using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;
using Nvcf.Emulator.Diagnostics;
using Nvcf.Emulator.Runtime.Gpu;

namespace Nvcf.Emulator.Runtime.Docker;

/// <summary>
/// Function instances as containers on a Docker engine (API 1.41 and newer). One start sequence:
/// resolve the image (pull only when missing) → assign GPUs → create (labels, env, ports, GPU devices) → start →
/// resolve the published ports.
/// </summary>
public sealed class DockerFunctionRuntime : IFunctionRuntime, IDisposable
{
    /// <summary>The name prefix of the networks the emulator creates for its instances.</summary>
    public const string NetworkPrefix = "nvcf-emulator-";

    private readonly DockerClient _client;
    private readonly DockerRuntimeOptions _options;
    private readonly GpuOptions _gpuOptions;
    private readonly RegistryAuth _registryAuth;
    private readonly ILogger<DockerFunctionRuntime> _logger;
    private readonly GpuAllocator _gpus = new();
    private readonly SemaphoreSlim _gpuDetection = new(1, 1);
    private readonly string _workDirectory;
    private readonly OwnerLease _lease;
    private readonly SemaphoreSlim _networks = new(1, 1);
    private readonly Dictionary<string, int> _joining = new(StringComparer.Ordinal);
    private readonly bool _engineIsLocal;
    private GpuPassthrough? _gpu;

    public DockerFunctionRuntime(
        IOptions<DockerRuntimeOptions> options,
        IOptions<GpuOptions> gpuOptions,
        IOptions<EmulatorOptions> emulatorOptions,
        RegistryAuth registryAuth,
        ILogger<DockerFunctionRuntime> logger)
    {
        _options = options.Value;
        _gpuOptions = gpuOptions.Value;
        _registryAuth = registryAuth;
        _logger = logger;
        _workDirectory = emulatorOptions.Value.WorkDirectory;
        _lease = new OwnerLease(_workDirectory, _options.OwnerLeaseRenewal);
        if (!WorkDirectoryMount.IsSharedWithHost(_workDirectory))
        {
            _logger.WorkDirectoryNotShared(Path.GetFullPath(_workDirectory));
        }

        var builder = new DockerClientBuilder();
        if (!string.IsNullOrEmpty(_options.Endpoint))
        {
            builder = builder.WithEndpoint(new Uri(_options.Endpoint));
        }

        _client = builder.Build();
        _engineIsLocal = IsLocalEngine(_options.Endpoint);
    }

    /// <remarks>
    /// Cancellation is honoured between steps, never inside the engine calls that create state (create, start): once a
    /// container exists, this method either returns it or removes it, whatever happens (a refusal, a lost engine, an
    /// undeploy cancelling the start). Every engine refusal becomes an <see cref="InstanceStartException"/> with the
    /// engine's own words.
    /// </remarks>
    public async Task<RuntimeInstance> StartAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        var gpu = await GetGpuPassthroughAsync(cancellationToken);
        if (gpu.Refusal is not null)
        {
            throw new InstanceStartException(gpu.Refusal);
        }

        var image = await ResolveImageAsync(spec.Image, spec.NcaId, cancellationToken);
        var name = ContainerName(spec);
        var assignment = _gpus.Allocate(name, spec.GpuCount, gpu.Gpus);
        if (assignment.Shared)
        {
            _logger.GpuShared(name, assignment.ToString());
        }

        var network = OwnNetwork(spec);
        if (network is not null)
        {
            await JoinNetworkAsync(network, spec.StateId, cancellationToken);
        }

        try
        {
            return await CreateAndStartAsync(spec, name, image, gpu, assignment, cancellationToken);
        }
        finally
        {
            if (network is not null)
            {
                await LeaveNetworkAsync(network);
            }
        }
    }

    private async Task<RuntimeInstance> CreateAndStartAsync(
        InstanceSpec spec, string name, ImageInspectResponse image, GpuPassthrough gpu, GpuAssignment assignment, CancellationToken cancellationToken)
    {
        CreateContainerResponse created;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            spec.Folders.Create();
            created = await _client.Containers.CreateContainerAsync(
                CreateParameters(spec, image.ID, gpu, assignment, image.Config?.Env), CancellationToken.None);
        }
        catch (Exception e)
        {
            _gpus.Release(name);
            if (e is DockerApiException engine)
            {
                throw new InstanceStartException($"Container for image '{spec.Image}' could not be created: {EngineMessage(engine)}", e);
            }

            throw;
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            await _client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            var inspected = await _client.Containers.InspectContainerAsync(created.ID, CancellationToken.None);
            var instance = new RuntimeInstance(created.ID, name, image.ID, ResolveEndpoints(inspected, spec.Ports)) { Gpus = gpu.Describe(assignment) };
            _logger.ContainerStarted(name, spec.Image, ShortId(image.ID), instance.Gpus);
            return instance;
        }
        catch (Exception e)
        {
            // Refused (e.g. 'could not select device driver "nvidia"'), cancelled by an undeploy, or the engine went
            // away: the container is removed here, since nobody else knows it exists.
            await RemoveContainerAsync(created.ID, CancellationToken.None, graceful: false);
            _gpus.Release(name);
            if (e is DockerApiException engine)
            {
                throw new InstanceStartException($"Container '{name}' could not be started: {EngineMessage(engine)}", e);
            }

            throw;
        }
    }

    /// <summary>
    /// The network of the emulator's own that instances join when no <see cref="DockerRuntimeOptions.NetworkMode"/> is
    /// set: one per durable store (its instances outlive this process), else one per emulator process. Null: the
    /// configured network is used as it is.
    /// </summary>
    private string? OwnNetwork(InstanceSpec spec) =>
        string.IsNullOrEmpty(_options.NetworkMode)
            ? NetworkPrefix + (spec.StateId is { } state ? state[..Math.Min(12, state.Length)] : _lease.ShortId)
            : null;

    /// <summary>
    /// Makes sure the network exists (created on first use: a bridge without inter-container traffic, so an instance
    /// cannot reach its neighbours, only the published ports the emulator uses) and holds it until
    /// <see cref="LeaveNetworkAsync"/>, so that removing the last container meanwhile does not remove it.
    /// </summary>
    private async Task JoinNetworkAsync(string network, string? stateId, CancellationToken cancellationToken)
    {
        await _networks.WaitAsync(cancellationToken);
        try
        {
            try
            {
                // Never cancelled half-way (like a container's create): a create the engine finishes after its caller
                // gave up would make a second network of the same name.
                await _client.Networks.InspectNetworkAsync(network, CancellationToken.None);
            }
            catch (DockerNetworkNotFoundException)
            {
                var labels = new Dictionary<string, string> { [ContainerLabels.Managed] = "true", [ContainerLabels.Owner] = _lease.Path };
                if (stateId is not null)
                {
                    labels[ContainerLabels.State] = stateId;
                }

                try
                {
                    await _client.Networks.CreateNetworkAsync(
                        new NetworksCreateParameters
                        {
                            Name = network,
                            Driver = "bridge",
                            Labels = labels,
                            Options = new Dictionary<string, string> { ["com.docker.network.bridge.enable_icc"] = "false" },
                        },
                        CancellationToken.None);
                }
                catch (DockerApiException e)
                {
                    throw new InstanceStartException($"Network '{network}' for the instances could not be created: {EngineMessage(e)}", e);
                }

                _logger.NetworkCreated(network);
            }

            _joining[network] = _joining.GetValueOrDefault(network) + 1;
        }
        finally
        {
            _networks.Release();
        }
    }

    private async Task LeaveNetworkAsync(string network)
    {
        await _networks.WaitAsync();
        try
        {
            if (--_joining[network] == 0)
            {
                _joining.Remove(network);
            }
        }
        finally
        {
            _networks.Release();
        }

        await RemoveNetworkIfUnusedAsync(network); // nothing joined it, e.g. the start failed
    }

    /// <summary>Removes one of the emulator's networks once no container is on it and no start here is about to join it.</summary>
    private async Task RemoveNetworkIfUnusedAsync(string network)
    {
        await _networks.WaitAsync();
        try
        {
            if (_joining.ContainsKey(network))
            {
                return;
            }

            var inspected = await _client.Networks.InspectNetworkAsync(network);
            if (inspected.Containers is { Count: > 0 })
            {
                return;
            }

            await _client.Networks.DeleteNetworkAsync(network);
            _logger.NetworkRemoved(network);
        }
        catch (DockerApiException)
        {
            // Gone already, or joined meanwhile by another emulator on the same store: its last container removes it.
        }
        finally
        {
            _networks.Release();
        }
    }

    /// <summary>
    /// How GPUs reach containers here: detected once from the host and the engine (or as configured) and logged;
    /// detected again later if the engine could not be asked.
    /// </summary>
    public async Task<GpuPassthrough> GetGpuPassthroughAsync(CancellationToken cancellationToken)
    {
        if (_gpu is { } known)
        {
            return known;
        }

        await _gpuDetection.WaitAsync(cancellationToken);
        try
        {
            if (_gpu is { } detected)
            {
                return detected;
            }

            var facts = await DockerGpu.ReadEngineAsync(_client, GpuHostProbe.ReadHost(_gpuOptions), cancellationToken);
            var passthrough = GpuPassthrough.Select(facts, _gpuOptions);
            if (facts.EngineError is null)
            {
                _gpu = passthrough;
                _logger.GpuPassthroughSelected(passthrough.Summary);
                foreach (var warning in passthrough.Warnings)
                {
                    _logger.GpuWarning(warning);
                }

                if (passthrough.Refusal is not null)
                {
                    _logger.GpuRefused(passthrough.Refusal);
                }
            }

            return passthrough;
        }
        finally
        {
            _gpuDetection.Release();
        }
    }

    public async Task<InstanceObservation> ObserveAsync(RuntimeInstance instance, CancellationToken cancellationToken)
    {
        try
        {
            var inspected = await _client.Containers.InspectContainerAsync(instance.ContainerId, cancellationToken);
            var state = inspected.State;
            if (state is null)
            {
                return InstanceObservation.Missing;
            }

            return state.Running || state.Status is "created" or "restarting"
                ? InstanceObservation.Running
                : new InstanceObservation(InstanceRunState.Exited, state.ExitCode, EmptyToNull(state.Error) ?? (state.OOMKilled ? "out of memory" : null));
        }
        catch (DockerContainerNotFoundException)
        {
            return InstanceObservation.Missing;
        }
    }

    public async Task<InstanceObservation> WaitForExitAsync(RuntimeInstance instance, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await _client.Containers.WaitContainerAsync(instance.ContainerId, cancellationToken);
            }
            catch (DockerContainerNotFoundException)
            {
                return InstanceObservation.Missing;
            }
            catch (Exception e) when (e is TimeoutException or HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                // The long wait was cut; look again below, without spinning if the engine is away.
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }

            var observation = await ObserveAsync(instance, cancellationToken);
            if (observation.State != InstanceRunState.Running)
            {
                return observation;
            }
        }
    }

    public async Task<string> ReadLogTailAsync(RuntimeInstance instance, int lines, CancellationToken cancellationToken)
    {
        try
        {
            using var stream = await _client.Containers.GetContainerLogsAsync(
                instance.ContainerId,
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = lines.ToString(CultureInfo.InvariantCulture) },
                cancellationToken);
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(cancellationToken);
            return (stdout + stderr).TrimEnd();
        }
        catch (DockerApiException)
        {
            return string.Empty; // gone, or being removed: no logs to tell
        }
    }

    public async Task RemoveAsync(RuntimeInstance instance, CancellationToken cancellationToken)
    {
        await RemoveContainerAsync(instance.ContainerId, cancellationToken);
        _gpus.Release(instance.Name);
    }

    public async Task<int> RemoveDeploymentAsync(Guid deploymentId, CancellationToken cancellationToken)
    {
        var containers = await ListManagedAsync(cancellationToken, $"{ContainerLabels.DeploymentId}={deploymentId}");
        foreach (var container in containers)
        {
            await RemoveContainerAsync(container.ID, cancellationToken, graceful: false);
            _gpus.Release(container.Names.FirstOrDefault()?.TrimStart('/') ?? container.ID);
        }

        return containers.Count;
    }

    public async Task<int> ReapStaleAsync(CancellationToken cancellationToken)
    {
        var containers = await ListManagedAsync(cancellationToken);

        var reaped = 0;
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var container in containers)
        {
            var owner = container.Labels?.TryGetValue(ContainerLabels.Owner, out var o) == true ? o : null;
            if (!OwnerLease.IsGone(owner, _options.OwnerLeaseTimeout) || container.Labels?.ContainsKey(ContainerLabels.State) == true)
            {
                // Alive (or not provably gone), or kept for a durable store: its next emulator (maybe restarting right
                // now) adopts or removes it.
                if (owner is not null)
                {
                    named.Add(owner);
                }

                continue;
            }

            _logger.ContainerReaped(container.Names.FirstOrDefault()?.TrimStart('/') ?? container.ID, owner!);
            await RemoveContainerAsync(container.ID, cancellationToken, graceful: false);
            reaped++;
        }

        await ReapStaleNetworksAsync(named, cancellationToken);
        OwnerLease.Sweep(_workDirectory, named, _options.OwnerLeaseTimeout);
        return reaped;
    }

    /// <summary>
    /// Removes the emulator's networks that an emulator now gone left behind empty (it was killed after its last
    /// container went, or its containers were removed by hand). Networks of a durable store are kept: their name is
    /// the store's, and its next emulator joins them again.
    /// </summary>
    private async Task ReapStaleNetworksAsync(HashSet<string> named, CancellationToken cancellationToken)
    {
        var networks = await _client.Networks.ListNetworksAsync(
            new NetworksListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [ContainerLabels.Managed + "=true"] = true } },
            },
            cancellationToken);
        foreach (var network in networks)
        {
            var owner = network.Labels?.TryGetValue(ContainerLabels.Owner, out var o) == true ? o : null;
            if (network.Labels?.ContainsKey(ContainerLabels.State) == true || !OwnerLease.IsGone(owner, _options.OwnerLeaseTimeout))
            {
                if (owner is not null)
                {
                    named.Add(owner);
                }

                continue;
            }

            await RemoveNetworkIfUnusedAsync(network.Name);
        }
    }

    /// <summary>Every container with the emulator's label (and <paramref name="label"/>, given as <c>name=value</c>), running or not.</summary>
    private Task<IList<ContainerListResponse>> ListManagedAsync(CancellationToken cancellationToken, string? label = null)
    {
        var labels = new Dictionary<string, bool> { [ContainerLabels.Managed + "=true"] = true };
        if (label is not null)
        {
            labels[label] = true;
        }

        return _client.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels } },
            cancellationToken);
    }

    public async Task<IReadOnlyList<RuntimeContainer>> ListAsync(CancellationToken cancellationToken)
    {
        var containers = await ListManagedAsync(cancellationToken);

        var found = new List<RuntimeContainer>();
        foreach (var container in containers)
        {
            ContainerInspectResponse inspected;
            try
            {
                inspected = await _client.Containers.InspectContainerAsync(container.ID, cancellationToken);
            }
            catch (DockerContainerNotFoundException)
            {
                continue; // removed meanwhile
            }

            var labels = inspected.Config?.Labels ?? container.Labels ?? new Dictionary<string, string>();
            var endpoints = ReachableEndpoints(inspected);
            var name = inspected.Name.TrimStart('/');
            var gpus = GpuAssignment.ParseIndices(Label(labels, ContainerLabels.Gpus));
            if (inspected.State?.Running == true && gpus.Count > 0)
            {
                _gpus.Claim(name, gpus); // still holds its GPUs, whoever adopts it
            }

            found.Add(new RuntimeContainer(
                new RuntimeInstance(inspected.ID, name, inspected.Image, endpoints) { Gpus = Label(labels, ContainerLabels.GpuDescription) },
                inspected.State?.Running == true,
                OwnerLease.IsGone(Label(labels, ContainerLabels.Owner), _options.OwnerLeaseTimeout),
                Label(labels, ContainerLabels.State),
                GuidLabel(labels, ContainerLabels.FunctionId),
                GuidLabel(labels, ContainerLabels.VersionId),
                GuidLabel(labels, ContainerLabels.DeploymentId),
                GuidLabel(labels, ContainerLabels.InstanceId),
                GuidLabel(labels, ContainerLabels.GpuSpecificationId)));
        }

        return found;
    }

    public void Dispose()
    {
        _lease.Dispose();
        _client.Dispose();
        _gpuDetection.Dispose();
        _networks.Dispose();
    }

    private static string? Label(IDictionary<string, string> labels, string name) =>
        labels.TryGetValue(name, out var value) ? value : null;

    private static Guid? GuidLabel(IDictionary<string, string> labels, string name) =>
        Guid.TryParse(Label(labels, name), out var id) ? id : null;

    /// <summary>The one place an <see cref="InstanceSpec"/> and its GPUs become Docker create parameters.</summary>
    internal CreateContainerParameters CreateParameters(
        InstanceSpec spec, string imageId, GpuPassthrough gpu, GpuAssignment assignment, IEnumerable<string>? imageEnvironment)
    {
        var parameters = CreateParametersWithoutGpus(spec, imageId);
        if (spec.StateId is not null)
        {
            parameters.Labels[ContainerLabels.State] = spec.StateId;
        }

        parameters.Labels[ContainerLabels.Gpus] = assignment.Indices;
        parameters.Labels[ContainerLabels.GpuDescription] = gpu.Describe(assignment);
        DockerGpu.Apply(parameters, gpu, assignment, imageEnvironment);
        return parameters;
    }

    private CreateContainerParameters CreateParametersWithoutGpus(InstanceSpec spec, string imageId)
    {
        var ports = spec.Ports.Distinct().Select(p => p.ToString(CultureInfo.InvariantCulture) + "/tcp").ToList();
        return new CreateContainerParameters
        {
            Name = ContainerName(spec),
            Image = imageId,
            Cmd = spec.Args is null ? null! : [.. CommandLine.Split(spec.Args)],
            Env = [.. spec.Environment.Select(e => $"{e.Key}={e.Value}")],
            Labels = new Dictionary<string, string>
            {
                [ContainerLabels.Managed] = "true",
                [ContainerLabels.Owner] = _lease.Path,
                [ContainerLabels.FunctionId] = spec.FunctionId.ToString(),
                [ContainerLabels.FunctionName] = spec.FunctionName,
                [ContainerLabels.VersionId] = spec.VersionId.ToString(),
                [ContainerLabels.DeploymentId] = spec.DeploymentId.ToString(),
                [ContainerLabels.InstanceId] = spec.InstanceId.ToString(),
                [ContainerLabels.GpuSpecificationId] = spec.GpuSpecificationId.ToString(),
            },
            ExposedPorts = ports.ToDictionary(p => p, _ => new EmptyStruct()),
            HostConfig = new HostConfig
            {
                Binds =
                [
                    $"{spec.Folders.InputAssets}:{InstanceFolders.ContainerInputAssets}",
                    $"{spec.Folders.Response}:{InstanceFolders.ContainerResponse}",
                    $"{spec.Folders.Secrets}:{InstanceFolders.ContainerSecrets}:ro",
                ],
                NetworkMode = OwnNetwork(spec) ?? _options.NetworkMode!,
                PortBindings = IsHostNetwork(_options.NetworkMode)
                    ? null!
                    : ports.ToDictionary(
                        p => p,
                        IList<PortBinding> (_) => [new PortBinding { HostIP = _options.PublishAddress, HostPort = string.Empty }]),
            },
        };
    }

    private async Task<ImageInspectResponse> ResolveImageAsync(string image, string ncaId, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.Images.InspectImageAsync(image, cancellationToken);
        }
        catch (DockerImageNotFoundException)
        {
            // Only a missing image is pulled; a local image is always used as it is.
        }
        catch (DockerApiException e)
        {
            // e.g. 400 "invalid checksum digest length": a reference the engine will never resolve.
            throw new InstanceStartException($"Image '{image}' was refused by the Docker engine: {EngineMessage(e)}", e);
        }

        var auth = await _registryAuth.ResolveAsync(image, ncaId, cancellationToken);
        if (auth is { Source: var source })
        {
            _logger.ImagePullingWithCredentials(image, source);
        }
        else
        {
            _logger.ImagePulling(image);
        }

        var (repository, tag) = SplitReference(image);
        string? pullError = null;
        try
        {
            await _client.Images.CreateImageAsync(
                new ImagesCreateParameters { FromImage = repository, Tag = tag },
                auth?.Auth,
                new Progress<JSONMessage>(m => pullError ??= EmptyToNull(m.Error?.Message)),
                cancellationToken);
        }
        catch (DockerApiException e)
        {
            pullError = EngineMessage(e);
        }

        try
        {
            return await _client.Images.InspectImageAsync(image, cancellationToken);
        }
        catch (DockerImageNotFoundException)
        {
            throw new InstanceStartException(
                pullError is not null && IsRefusedForCredentials(pullError)
                    ? RefusedForCredentials(image, pullError, auth?.Source)
                    : $"Image '{image}' was not found locally and could not be pulled: {pullError ?? "the engine reported no image after the pull"}");
        }
    }

    /// <summary>Whether the engine's pull error says the registry wanted (other) credentials.</summary>
    internal static bool IsRefusedForCredentials(string engineMessage) =>
        new[] { "unauthorized", "authentication required", "no basic auth credentials", "denied", "401", "403 forbidden", "incorrect username or password" }
            .Any(m => engineMessage.Contains(m, StringComparison.OrdinalIgnoreCase));

    /// <summary>A pull refused for credentials: which registry, what was sent, and how to give it credentials.</summary>
    internal static string RefusedForCredentials(string image, string engineMessage, string? source)
    {
        var registry = Domain.RecognizedRegistries.RegistryOf(image);
        var sent = source is null ? "no credentials were found for it" : $"the credentials of {source} were sent";
        var login = registry == Domain.RecognizedRegistries.Ngc
            ? $"run `docker login {registry}` with user name `$oauthtoken` and an NGC API key as the password"
            : $"run `docker login {registry}`";
        return $"Pulling image '{image}' from registry '{registry}' was refused ({sent}): {engineMessage.TrimEnd('.')}. " +
            $"Store a credential for '{registry}' with POST /v2/nvcf/registry-credentials, or {login}";
    }

    /// <summary>The addresses of the spec's <paramref name="ports"/>; each must be reachable while the container runs.</summary>
    private Dictionary<int, Uri> ResolveEndpoints(ContainerInspectResponse inspected, IReadOnlyList<int> ports)
    {
        var reachable = ReachableEndpoints(inspected);
        var endpoints = new Dictionary<int, Uri>();
        foreach (var port in ports.Distinct())
        {
            if (reachable.TryGetValue(port, out var endpoint))
            {
                endpoints[port] = endpoint;
            }
            else if (inspected.State?.Running == true)
            {
                throw new InstanceStartException($"Port {port} of container '{inspected.Name.TrimStart('/')}' was not published by the engine.");
            }

            // Exited already: no ports to resolve. The caller sees the exit, with its code and logs.
        }

        return endpoints;
    }

    /// <summary>
    /// Container TCP port → the address the emulator reaches it at: on a bridge, the container's own address and port
    /// when <see cref="BridgeAddress"/> allows (no <c>docker-proxy</c> in between), else the published host port; on the
    /// host's network, the exposed port itself (nothing is published there). Computed again for adopted containers.
    /// </summary>
    private Dictionary<int, Uri> ReachableEndpoints(ContainerInspectResponse inspected)
    {
        var endpoints = new Dictionary<int, Uri>();
        var host = IsHostNetwork(inspected.HostConfig?.NetworkMode) ? _options.PublishAddress : BridgeAddress(inspected);
        if (host is not null)
        {
            foreach (var port in (inspected.Config?.ExposedPorts?.Keys ?? []).Select(TcpPort).OfType<int>())
            {
                endpoints[port] = new Uri($"http://{host}:{port.ToString(CultureInfo.InvariantCulture)}");
            }

            return endpoints;
        }

        foreach (var (key, bindings) in inspected.NetworkSettings?.Ports ?? new Dictionary<string, IList<PortBinding>>())
        {
            if (TcpPort(key) is { } port && bindings?.FirstOrDefault() is { HostPort.Length: > 0 } binding)
            {
                endpoints[port] = Endpoint(binding.HostPort);
            }
        }

        return endpoints;
    }

    /// <summary>
    /// The container's IPv4 address on its bridge network (the emulator's own network first), when the emulator is to
    /// reach it there (<see cref="DockerRuntimeOptions.ReachInstancesBy"/>); null to use its published ports.
    /// </summary>
    private string? BridgeAddress(ContainerInspectResponse inspected)
    {
        if (_options.ReachInstancesBy == InstanceReach.PublishedPort || (_options.ReachInstancesBy == InstanceReach.Auto && !_engineIsLocal))
        {
            return null;
        }

        var network = (inspected.NetworkSettings?.Networks ?? new Dictionary<string, EndpointSettings>())
            .Where(n => !string.IsNullOrEmpty(n.Value?.IPAddress))
            .OrderBy(n => n.Key.StartsWith(NetworkPrefix, StringComparison.Ordinal) ? 0 : 1)
            .Select(n => n.Value)
            .FirstOrDefault();
        if (network is null)
        {
            return null;
        }

        return _options.ReachInstancesBy == InstanceReach.BridgeAddress || IsLocalAddress(network.Gateway) ? network.IPAddress : null;
    }

    /// <summary>
    /// Whether an engine endpoint is on this machine: a unix socket or named pipe, or TCP to a loopback address. With no
    /// endpoint configured, <c>DOCKER_HOST</c> decides, then the local socket.
    /// </summary>
    internal static bool IsLocalEngine(string? endpoint)
    {
        endpoint = !string.IsNullOrEmpty(endpoint) ? endpoint : Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(endpoint))
        {
            return true;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.Scheme is "unix" or "npipe"
            || (uri.Scheme is "tcp" or "http" or "https" && (uri.IsLoopback || System.Net.IPAddress.TryParse(uri.Host, out var ip) && System.Net.IPAddress.IsLoopback(ip)));
    }

    /// <summary>
    /// Whether a bridge's gateway is an address of one of this process's network interfaces: then the bridge is on this
    /// network namespace's host and its containers are routed to directly (not so from another container's network, nor
    /// for an engine in a VM, as with Docker Desktop).
    /// </summary>
    private static bool IsLocalAddress(string? gateway)
    {
        if (!System.Net.IPAddress.TryParse(gateway, out var address))
        {
            return false;
        }

        try
        {
            return System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                .Any(i => i.GetIPProperties().UnicastAddresses.Any(a => a.Address.Equals(address)));
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return false;
        }
    }

    /// <summary>8000 for <c>8000/tcp</c>; null for other protocols.</summary>
    private static int? TcpPort(string key) =>
        key.EndsWith("/tcp", StringComparison.Ordinal) && int.TryParse(key[..^4], CultureInfo.InvariantCulture, out var port) ? port : null;

    private Uri Endpoint(string hostPort) => new($"http://{_options.PublishAddress}:{hostPort}");

    /// <summary>
    /// Removes a container; <paramref name="graceful"/> first gives its process <see cref="DockerRuntimeOptions.StopTimeout"/>
    /// to stop on SIGTERM, otherwise it is killed at once (orphans, failed starts: nobody waits for their answers).
    /// The emulator's networks it was on are removed with their last container.
    /// </summary>
    private async Task RemoveContainerAsync(string containerId, CancellationToken cancellationToken, bool graceful = true)
    {
        IReadOnlyList<string> networks;
        try
        {
            var inspected = await _client.Containers.InspectContainerAsync(containerId, cancellationToken);
            networks = [.. (inspected.NetworkSettings?.Networks?.Keys ?? []).Where(n => n.StartsWith(NetworkPrefix, StringComparison.Ordinal))];
        }
        catch (DockerContainerNotFoundException)
        {
            return;
        }

        if (graceful && !await StopContainerAsync(containerId, cancellationToken))
        {
            return;
        }

        try
        {
            await _client.Containers.RemoveContainerAsync(containerId, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // "removal already in progress"
        }

        foreach (var network in networks)
        {
            await RemoveNetworkIfUnusedAsync(network);
        }
    }

    /// <summary>Stops a container; false when it does not exist.</summary>
    private async Task<bool> StopContainerAsync(string containerId, CancellationToken cancellationToken)
    {
        try
        {
            await _client.Containers.StopContainerAsync(
                containerId,
                new ContainerStopParameters { WaitBeforeKillSeconds = (uint)_options.StopTimeout.TotalSeconds },
                cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            return false;
        }
        catch (DockerApiException)
        {
            // Not running (e.g. never started); the removal decides.
        }

        return true;
    }

    private static bool IsHostNetwork(string? networkMode) => string.Equals(networkMode, "host", StringComparison.OrdinalIgnoreCase);

    private static string ContainerName(InstanceSpec spec)
    {
        var name = new string([.. spec.FunctionName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
        if (name.Length > 40)
        {
            name = name[..40];
        }

        return $"nvcf-{name}-{spec.VersionId.ToString("N")[..8]}-{spec.InstanceId.ToString("N")[..8]}";
    }

    /// <summary>Splits <c>registry/repo:tag</c> (or <c>@digest</c>) into what the pull API takes.</summary>
    internal static (string Repository, string? Tag) SplitReference(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            return (image[..at], image[(at + 1)..]);
        }

        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    private static string EngineMessage(DockerApiException e) =>
        EmptyToNull(e.ResponseBody?.Trim()) is { } body && body.StartsWith('{')
            ? System.Text.Json.JsonDocument.Parse(body).RootElement.TryGetProperty("message", out var m) ? m.GetString() ?? body : body
            : e.Message;

    private static string? EmptyToNull(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static string ShortId(string imageId) => imageId.Replace("sha256:", string.Empty, StringComparison.Ordinal)[..12];
}
