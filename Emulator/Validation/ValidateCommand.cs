namespace Nvcf.Emulator.Validation;

/// <summary><c>nvcf-emulator validate &lt;image&gt; …</c>: checks a function container before it is published.</summary>
public static class ValidateCommand
{
    public const string Verb = "validate";

    /// <summary>Runs the checks and prints the report; returns the exit code (0: every check passed, 1: one failed, 2: usage error).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        if (args is ["--help" or "-h"])
        {
            await output.WriteLineAsync(ValidationOptions.Usage);
            return 0;
        }

        if (ValidationOptions.Parse(args, out var usageError) is not { } options)
        {
            await error.WriteLineAsync(usageError);
            await error.WriteLineAsync();
            await error.WriteLineAsync(ValidationOptions.Usage);
            return 2;
        }

        // Ctrl+C (and SIGTERM) stop the checks, and the container is still removed before the process ends.
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        });
        try
        {
            var report = await new ContainerValidator(options).RunAsync(cancel.Token);
            await output.WriteLineAsync(options.Json ? report.ToJson() : report.ToText());
            return report.Passed ? 0 : 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
