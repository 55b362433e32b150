// Invokes an NVCF function (cloud or emulator) and follows it to the end: 200 prints the body, 202 polls with
// progress, 302 downloads the zip. Status lines go to stderr, results to stdout. Exit codes: 0 done, 1 failed,
// 2 bad arguments, 130 cancelled (Ctrl+C). See README.md; the reusable part is NvcfClient.cs.
using System.Diagnostics;
using System.IO.Compression;
using System.Net.Mime;
using System.Text;
using Nvcf.Client;

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(ClientOptions.Usage);
    return 0;
}

ClientOptions options;
try
{
    options = ClientOptions.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"error: {e.Message}\n\n{ClientOptions.Usage}");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // stop waiting, exit cleanly
    cancel.Cancel();
};

using var http = NvcfClient.CreateHttpClient(options.BaseUrl);
var client = new NvcfClient(http, options.ApiKey);
var clock = Stopwatch.StartNew();
void Status(string line) => Console.Error.WriteLine($"[{clock.Elapsed.TotalSeconds,5:F1}s] {line}");

try
{
    var result = await client.InvokeAsync(
        options.FunctionId,
        options.VersionId,
        new StringContent(options.Body, Encoding.UTF8, MediaTypeNames.Application.Json),
        options.PollSeconds,
        progress => Status(progress switch
        {
            { PercentComplete: { } percent } => $"202 {progress.RequestId} {percent}% {progress.PartialResponse}",
            { PartialResponse: { } partial } => $"202 {progress.RequestId} {partial}",
            _ => $"202 {progress.RequestId} still running",
        }),
        cancel.Token);

    if (result.ResultUrl is { } url)
    {
        Status($"302 {result.RequestId}: large result at {url}");
        await using var zip = options.OutputPath is null ? new MemoryStream() : (Stream)File.Create(options.OutputPath);
        await client.DownloadAsync(url, zip, cancel.Token);
        if (options.OutputPath is not null)
        {
            Console.WriteLine($"saved {zip.Length} bytes to {options.OutputPath}");
        }
        else
        {
            zip.Position = 0;
            await using var archive = await ZipArchive.CreateAsync(zip, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, cancel.Token);
            foreach (var entry in archive.Entries)
            {
                Console.WriteLine($"{entry.Length,10}  {entry.FullName}");
            }
        }

        return 0;
    }

    if (!result.IsSuccess)
    {
        var problem = result.Problem!;
        Status($"{(int)result.StatusCode} {result.RequestId}".TrimEnd());
        Console.Error.WriteLine($"error: {(int)result.StatusCode} {problem.Title}{(problem.Detail is null ? "" : $": {problem.Detail}")}");
        return 1;
    }

    Status($"{(int)result.StatusCode} {result.RequestId} {result.ContentType}");
    var body = result.BodyText;
    Console.Write(body.EndsWith('\n') ? body : body + "\n");
    return 0;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("cancelled");
    return 130;
}
catch (HttpRequestException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
