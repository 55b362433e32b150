// An NVCF gRPC function: the Echo service plus grpc.health.v1 on one HTTP/2 port (8001 unless PORT says
// otherwise). NVCF marks gRPC functions with inferenceUrl "/grpc" and checks readiness with grpc.health.v1.
using GrpcEcho;
using Microsoft.AspNetCore.Server.Kestrel.Core;

var builder = WebApplication.CreateBuilder(args);
var port = int.Parse(Environment.GetEnvironmentVariable("PORT") ?? "8001", System.Globalization.CultureInfo.InvariantCulture);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(port, listen => listen.Protocols = HttpProtocols.Http2));
builder.Services.AddGrpc();
builder.Services.AddGrpcHealthChecks().AddCheck("echo", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());

var app = builder.Build();
app.MapGrpcService<EchoService>();
app.MapGrpcHealthChecksService();
app.Run();
