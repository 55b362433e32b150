using Microsoft.Extensions.Options;
using Nvcf.Emulator.Api;
using Nvcf.Emulator.Api.Contracts;
using Nvcf.Emulator.Orchestration;
using Nvcf.Emulator.Routing;
using Nvcf.Emulator.Runtime;
using Nvcf.Emulator.Runtime.Docker;
using Nvcf.Emulator.Runtime.Gpu;
using Nvcf.Emulator.State;

namespace Nvcf.Emulator;

/// <summary>The emulator's composition: API conventions, state, runtime, orchestration and routing.</summary>
public static class EmulatorServiceCollectionExtensions
{
    /// <summary>Where the OpenAPI document of the NVCF API is served.</summary>
    public const string OpenApiRoute = "/openapi/v1.json";

    public static WebApplicationBuilder AddNvcfEmulator(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<EmulatorOptions>()
            .Bind(builder.Configuration.GetSection(EmulatorOptions.SectionName))
            .Validate(o => o.HealthCheckInterval > TimeSpan.Zero, "Emulator:HealthCheckInterval must be longer than zero.")
            .Validate(o => o.HealthCheckFailureThreshold >= 1, "Emulator:HealthCheckFailureThreshold must be at least 1.")
            .ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<EmulatorOptions>, AccountsValidation>();
        services.AddSingleton<Accounts>();
        services.Configure<DockerRuntimeOptions>(builder.Configuration.GetSection("Emulator:Docker"));
        services.Configure<GpuOptions>(builder.Configuration.GetSection(GpuOptions.SectionName));

        services.ConfigureHttpJsonOptions(o => NvcfJsonContext.Configure(o.SerializerOptions));
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddOpenApi();
        services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.ShapeLikeNvcf);
        services.AddExceptionHandler<ApiMiddleware.BadRequestExceptionHandler>();
        services.AddExceptionHandler<ApiMiddleware.StoreUnavailableExceptionHandler>();

        // State: Redis when a connection string is given (Aspire's WithReference to a resource named "state" sets
        // ConnectionStrings:state), so deployments and their containers outlive a restart; else in memory.
        var redis = builder.Configuration.GetConnectionString("state") is { Length: > 0 } state ? state : builder.Configuration["Emulator:Redis"];
        if (string.IsNullOrWhiteSpace(redis))
        {
            services.AddSingleton<IFunctionStore, InMemoryFunctionStore>();
        }
        else
        {
            services.AddSingleton(sp => RedisFunctionStore.Connect(
                redis, sp.GetRequiredService<ILogger<RedisFunctionStore>>(), sp.GetRequiredService<IOptions<EmulatorOptions>>().Value.NcaId));
            services.AddSingleton<IFunctionStore>(sp => sp.GetRequiredService<RedisFunctionStore>());
            services.AddHealthChecks().AddCheck<StateStoreHealthCheck>(StateStoreHealthCheck.Name);
        }

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<PresignedUrls>();
        services.AddSingleton<KeyedLock>();
        services.AddSingleton<AssetStore>();
        services.AddSingleton<IFunctionRuntime, DockerFunctionRuntime>();
        services.AddSingleton<HealthProber>();
        services.AddSingleton<FunctionRouter>();
        services.AddSingleton<InvocationForwarder>();
        services.AddSingleton<InvocationService>();
        services.AddSingleton<InvocationAnswers>();
        services.AddSingleton<Diagnostics.EmulatorTelemetry>();
        services.AddSingleton<PendingInvocations>();
        services.AddSingleton<LargeResults>();
        services.AddSingleton<DeploymentOrchestrator>();
        services.AddSingleton<DeploymentService>();
        services.AddSingleton<FunctionService>();
        services.AddSingleton<RegistryCredentialService>();
        services.AddSingleton<RegistryAuth>();
        services.AddSingleton<TelemetryService>();
        services.AddSingleton<Otlp.OtlpRelay>();
        services.AddSingleton<SharingService>();
        services.AddHostedService(sp => sp.GetRequiredService<DeploymentOrchestrator>());
        services.AddSingleton<GrpcInvocationListener>();
        services.AddHostedService(sp => sp.GetRequiredService<GrpcInvocationListener>());
        return builder;
    }

    public static WebApplication MapNvcfApi(this WebApplication app)
    {
        app.MapFunctionsApi();
        app.MapDeploymentsApi();
        app.MapInvocationApi();
        app.MapQueuesApi();
        app.MapClusterGroupsApi();
        app.MapAssetsApi();
        app.MapSecretsApi();
        app.MapRegistryCredentialsApi();
        app.MapRateLimitApi();
        app.MapInstancesApi();
        app.MapTelemetriesApi();
        app.MapAuthorizationsApi();

        // The API's description, outside /v2 so it needs no bearer token.
        app.MapOpenApi(OpenApiRoute);
        return app;
    }
}
