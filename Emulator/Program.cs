using Nvcf.Emulator;

await EmulatorApp.Build(args).RunAsync();
return 0;

/// <summary>The emulator's entry point; public so tests can host it in process.</summary>
public partial class Program;
