using Nvcf.Emulator;
using Nvcf.Emulator.Validation;

// `nvcf-emulator validate <image> ...` checks a function container; with no verb the emulator serves the API.
if (args is [ValidateCommand.Verb, .. var options])
{
    return await ValidateCommand.RunAsync(options, Console.Out, Console.Error);
}

await EmulatorApp.Build(args).RunAsync();
return 0;

/// <summary>The emulator's entry point; public so tests can host it in process.</summary>
public partial class Program;
