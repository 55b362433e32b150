var builder = DistributedApplication.CreateBuilder(args);

var nvcf = builder.AddNvcfEmulator("nvcf");
var hello = nvcf.AddNvcfFunctionFromDockerfile("hello", "../fn", "/cgi-bin/echo")
    .WithBuildArg("BASE", builder.Configuration["BusyboxBase"] ?? "busybox:1.36")
    .WithHealthUri("/health").WithEnvironment("VERSION", "v1").WithDeployment(1, 1, 4);
hello.AddVersion("hello-v2").WithEnvironment("VERSION", "v2").WithDeployment(1, 1, 4);

builder.Build().Run();
