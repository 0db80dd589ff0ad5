package io.dubhub.testing;

import io.dubhub.sandbox.SyntheticVideo;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;

/** Drops files into an inbox the way a person or a sync tool does: written elsewhere, then moved in. */
public final class Drops {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Drops() {
    }

    /** A valid MP4 with a unique last byte, so every test's file has its own SHA-256. */
    public static Path video(Path inbox, String name, Duration duration) throws IOException {
        Path staging = Files.createTempFile("drop-", ".mp4");
        SyntheticVideo.writeMp4(staging, duration, 640, 360, 64 * 1024);
        try (RandomAccessFile f = new RandomAccessFile(staging.toFile(), "rw")) {
            f.seek(f.length() - 1);
            f.write(RANDOM.nextInt(256));
        }
        return moveIn(staging, inbox, name);
    }

    public static Path sidecar(Path inbox, String mediaName, String json) throws IOException {
        Path staging = Files.createTempFile("sidecar-", ".json");
        Files.writeString(staging, json, StandardCharsets.UTF_8);
        return moveIn(staging, inbox, mediaName + ".job.json");
    }

    public static Path text(Path inbox, String name, String content) throws IOException {
        Path staging = Files.createTempFile("drop-", ".txt");
        Files.writeString(staging, content, StandardCharsets.UTF_8);
        return moveIn(staging, inbox, name);
    }

    public static Path moveIn(Path staging, Path inbox, String name) throws IOException {
        Files.createDirectories(inbox);
        return Files.move(staging, inbox.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    public static String sha256(Path file) throws IOException {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            try (var in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    d.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
