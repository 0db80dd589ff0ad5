package io.dubhub.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small tmpfs mounted over a folder of the hub's, so a test can fill a disk for real (writes
 * fail with ENOSPC, as on a full volume) and then make room by growing it. Needs root, as the
 * machines these tests run on have; a mount that is refused fails the test with the reason.
 */
public final class Tmpfs implements AutoCloseable {

    private final Path dir;

    private Tmpfs(Path dir) {
        this.dir = dir;
    }

    public static Tmpfs mount(Path dir, String size) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString());
        return new Tmpfs(dir);
    }

    /** Room again: the same mount, bigger (what is on it stays). */
    public void resize(String size) throws IOException, InterruptedException {
        run("mount", "-o", "remount,size=" + size, dir.toString());
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run("umount", "-l", dir.toString());
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", new ArrayList<>(List.of(command)))
                    + " failed (this test fills a real tmpfs and needs root): " + out);
        }
    }
}
