using Nvcf.Emulator.Runtime.Docker;

namespace Nvcf.Emulator.Tests.Unit;

public class WorkDirectoryMountTests
{
    private const string ContainerMounts = """
        612 540 0:143 / / rw,relatime master:305 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X
        613 612 0:146 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
        620 612 254:1 /var/lib/docker/containers/abc/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw
        621 612 254:1 /tmp/nvcf\040work /tmp/nvcf\040work rw,relatime - ext4 /dev/vda1 rw
        622 612 254:1 /srv/nvcf /srv/nvcf rw,relatime - ext4 /dev/vda1 rw
        """;

    [Theory]
    [InlineData("/tmp/nvcf work", true)]
    [InlineData("/tmp/nvcf work/", true)]
    [InlineData("/srv/nvcf/emulator", true)]
    [InlineData("/tmp/nvcf-emulator", false)] // only the container's root holds it
    [InlineData("/srv/nvcf-other", false)]
    public void AFolderIsSharedOnlyAtOrUnderAMountOtherThanTheRoot(string path, bool expected) =>
        Assert.Equal(expected, WorkDirectoryMount.IsUnderMount(path, ContainerMounts));
}
