using System.Diagnostics;

namespace Nvcf.Emulator.Tests.Infrastructure;

/// <summary>Runs a program the tests need (<c>docker build</c>, <c>mknod</c>) and fails the test, with its output, when it fails.</summary>
public static class Command
{
    public static Task RunAsync(string program, string[] arguments, string? input = null) => OutputAsync(program, arguments, input);

    /// <summary>Runs <paramref name="program"/> to its end; returns what it wrote to its standard output.</summary>
    public static async Task<string> OutputAsync(string program, string[] arguments, string? input = null)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed: {error.Trim()} {(await output).Trim()}");
        return await output;
    }
}
