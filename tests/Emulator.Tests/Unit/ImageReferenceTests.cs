using Nvcf.Emulator.Domain;

namespace Nvcf.Emulator.Tests.Unit;

public class ImageReferenceTests
{
    [Theory]
    [InlineData("busybox")]
    [InlineData("nvcf-samples/echo:latest")]
    [InlineData("nvcr.io/my-org/my-team/model_server:1.2.3-RC1")]
    [InlineData("localhost:5000/a__b/c.d-e")]
    [InlineData("Registry.Example.com/repo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void AcceptsWhatTheEngineParses(string reference) => Assert.True(ImageReference.IsValid(reference));

    [Theory]
    [InlineData("")]
    [InlineData("--privileged")]
    [InlineData("Upper/case")]
    [InlineData("repo:tag:again")]
    [InlineData("repo/")]
    [InlineData("repo::tag")]
    [InlineData("repo@sha256:abc")]
    [InlineData("image name")]
    [InlineData("echo\nlatest")]
    public void RefusesWhatTheEngineCannotParse(string reference) => Assert.False(ImageReference.IsValid(reference));

    [Fact]
    public void RefusesANameLongerThan255Characters() => Assert.False(ImageReference.IsValid(new string('a', 256) + ":tag"));
}
