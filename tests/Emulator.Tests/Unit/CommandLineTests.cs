using Nvcf.Emulator.Runtime;

namespace Nvcf.Emulator.Tests.Unit;

public class CommandLineTests
{
    [Theory]
    [InlineData("python3 app.py --port 8000", new[] { "python3", "app.py", "--port", "8000" })]
    [InlineData("sh -c 'echo hello; exit 3'", new[] { "sh", "-c", "echo hello; exit 3" })]
    [InlineData("run --name \"a b\" x\\ y", new[] { "run", "--name", "a b", "x y" })]
    [InlineData("  spaced   out  ", new[] { "spaced", "out" })]
    [InlineData("empty '' arg", new[] { "empty", "", "arg" })]
    public void SplitsLikeAShellWithoutExpansion(string commandLine, string[] expected) =>
        Assert.Equal(expected, CommandLine.Split(commandLine));

    [Fact]
    public void AnUnterminatedQuoteIsAnError() =>
        Assert.Throws<FormatException>(() => CommandLine.Split("echo 'oops"));
}
