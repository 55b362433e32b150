var builder = DistributedApplication.CreateBuilder(args);

// The NVCF emulator. Its own launch profile is not used: the endpoint is declared here so that the function
// integration always finds the "http" endpoint, and /health makes "ready" mean "answering".
var emulator = builder.AddProject<Projects.Emulator>("nvcf-emulator", options => options.ExcludeLaunchProfile = true)
    .WithHttpEndpoint(name: "http")
    .WithEndpoint(name: "grpc", scheme: "tcp") // not "http": ASPNETCORE_URLS would claim it for the HTTP/1.1 API
    .WithHttpHealthCheck("/health");

// gRPC invocations have a cleartext HTTP/2 listener of their own, on the "grpc" endpoint.
var grpc = emulator.GetEndpoint("grpc");
emulator.WithEnvironment("Emulator__GrpcUrl", ReferenceExpression.Create($"http://127.0.0.1:{grpc.Property(EndpointProperty.TargetPort)}"));

// Created and deployed through the emulator's API once it is ready; the log shows a curl line to invoke it.
emulator.AddNvcfFunction("echo", "nvcf-samples/echo:latest", "/echo")
    .WithDeployment(minInstances: 1, maxInstances: 2, maxRequestConcurrency: 4);

builder.Build().Run();
