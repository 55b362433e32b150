var builder = DistributedApplication.CreateBuilder(args);

// The NVCF emulator: the API on its "http" endpoint, gRPC invocations on "grpc", ready once /health answers. Its state
// lives in Redis ("nvcf-emulator-state"), so functions and their running containers survive an emulator restart.
var emulator = builder.AddNvcfEmulator("nvcf-emulator")
    .WithRedisState();

// Created and deployed through the emulator's API once it is ready; the log shows a curl line to invoke it, and the
// dashboard offers Deploy, Undeploy, Redeploy and Restart instances; its containers' output is in its log.
var echo = emulator.AddNvcfFunction("echo", "nvcf-samples/echo:latest", "/echo")
    .WithDeployment(minInstances: 1, maxInstances: 2, maxRequestConcurrency: 4);

// A web app that finds the emulator by service discovery and invokes echo through pexec (GET /ask?text=hi). It starts
// once echo is deployed, so the function ID is known and passed; without it the app looks the function up by name.
builder.AddProject<Projects.DiscoveryClient>("discovery-client")
    .WithReference(emulator)
    .WithEnvironment(context => context.EnvironmentVariables["Nvcf__FunctionId"] = echo.Resource.FunctionId?.ToString() ?? "")
    .WithHttpHealthCheck("/health")
    .WaitFor(echo);

builder.Build().Run();
