package io.dubhub.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dubhub.job.JobRejectedException;
import io.dubhub.job.Stage;
import io.dubhub.sandbox.SyntheticVideo;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MediaProbeTest {

    private static final long MIB = 1024 * 1024;
    private static final long GIB = 1024 * MIB;
    private static final String STILL_COPYING = "was it still being copied?";

    private final MediaProbe probe = new MediaProbe();

    @TempDir
    Path dir;

    @Test
    void probesASyntheticMp4() {
        Path file = dir.resolve("talk.mp4");
        SyntheticVideo.writeMp4(file, Duration.ofSeconds(125), 1280, 720, 12_345_678);

        MediaInfo info = probe.probe(file);

        assertThat(info).isEqualTo(new MediaInfo("video/mp4", "MP4", "h264", "aac",
                Duration.ofSeconds(125), 1280, 720, 12_345_678));
        assertThat(info.hasVideo()).isTrue();
        assertThat(info.hasAudio()).isTrue();
        assertThat(info.isVideo()).isTrue();
        assertThat(info.describe()).isEqualTo("MP4 video h264/aac 1280x720, 2m05s, 11.8 MiB");
    }

    @Test
    void identifiesByContentNotByExtension() throws IOException {
        Path file = dir.resolve("notes.txt");
        Files.write(file, SyntheticVideo.tinyMp4(Duration.ofMillis(61_500)));

        MediaInfo info = probe.probe(file);

        assertThat(info.mimeType()).isEqualTo("video/mp4");
        assertThat(info.videoCodec()).isEqualTo("h264");
        assertThat(info.audioCodec()).isEqualTo("aac");
        assertThat(info.duration()).isEqualTo(Duration.ofMillis(61_500));
        assertThat(info.width()).isEqualTo(320);
        assertThat(info.height()).isEqualTo(240);
        assertThat(info.sizeBytes()).isEqualTo(4096);
    }

    @Test
    void rejectsTextNamedMp4AndSaysTheNameLies() throws IOException {
        Path file = dir.resolve("talk.mp4");
        Files.writeString(file, "Hello, this is the transcript of the talk, not the talk itself.\n");

        assertRejected(file).hasMessage("not a video or audio file: named .mp4 but its content is text/plain");
    }

    @Test
    void rejectsTextWithAnHonestNameWithoutBlamingTheName() throws IOException {
        Path file = dir.resolve("readme.txt");
        Files.writeString(file, "Drop videos in the inbox folder.\n");

        assertRejected(file).hasMessage("not a video or audio file: its content looks like text/plain");
    }

    @Test
    void rejectsAnEmptyFile() throws IOException {
        Path file = Files.createFile(dir.resolve("talk.mp4"));

        assertRejected(file).hasMessage("the file is empty (0 bytes)");
    }

    @Test
    void rejectsAnMp4CutShortInsideTheMoov() throws IOException {
        byte[] good = SyntheticVideo.tinyMp4(Duration.ofSeconds(30));
        Path file = dir.resolve("talk.mp4");
        Files.write(file, Arrays.copyOf(good, 200));

        assertRejected(file)
                .hasMessageStartingWith("the MP4 file is damaged or incomplete (its 'moov' box is cut short")
                .hasMessageEndingWith(STILL_COPYING);
    }

    @Test
    void rejectsAnMp4WithACorruptBoxSizeInsideTheMoovWithoutAllocatingIt() throws IOException {
        byte[] bytes = SyntheticVideo.tinyMp4(Duration.ofSeconds(30));
        int stsz = indexOf(bytes, ascii("stsz")) - 4;
        ByteBuffer.wrap(bytes).putInt(stsz, 0x7FFF_FFF0); // a 2 GiB sample size table
        Path file = dir.resolve("talk.mp4");
        Files.write(file, bytes);

        assertRejected(file)
                .hasMessageStartingWith("the MP4 file is damaged or incomplete (its 'moov' box cannot be parsed:"
                        + " its 'stsz' box claims 2147483632 bytes but only ")
                .hasMessageEndingWith(STILL_COPYING);
    }

    @Test
    void rejectsAnMp4WhoseMdatIsCutShort() throws IOException {
        Path whole = dir.resolve("whole.mp4");
        SyntheticVideo.writeMp4(whole, Duration.ofSeconds(30), 640, 360, 10 * MIB);
        Path file = dir.resolve("talk.mp4");
        try (RandomAccessFile copy = new RandomAccessFile(file.toFile(), "rw")) {
            copy.write(Files.readAllBytes(whole), 0, (int) (6 * MIB)); // a copy 60% done
        }

        assertRejected(file).hasMessage("the MP4 file is damaged or incomplete"
                + " (its 'mdat' box is cut short: the file ends 4.0 MiB early): " + STILL_COPYING);
    }

    @Test
    void rejectsAnMp4WithoutMoov() throws IOException {
        // What a recorder leaves behind when it dies before writing the moov at the end.
        byte[] good = SyntheticVideo.tinyMp4(Duration.ofSeconds(30));
        ByteBuffer file = ByteBuffer.allocate(32 + 1000);
        file.put(good, 0, 32); // the ftyp box
        file.putInt(1000).put("mdat".getBytes(StandardCharsets.US_ASCII));
        Path path = dir.resolve("talk.mp4");
        Files.write(path, file.array());

        assertRejected(path).hasMessage(
                "the MP4 file is damaged or incomplete (no 'moov' box): " + STILL_COPYING);
    }

    @Test
    void readsWavDurationFromTheRiffHeader() throws IOException {
        Path file = dir.resolve("voice.wav");
        int byteRate = 48_000 * 2 * 2;
        writeWav(file, 48_000, 2, 16, byteRate * 10 + byteRate / 2); // 10.5 s

        MediaInfo info = probe.probe(file);

        assertThat(info.mimeType()).isEqualTo("audio/vnd.wave");
        assertThat(info.container()).isEqualTo("WAV");
        assertThat(info.audioCodec()).isEqualTo("pcm_s16le");
        assertThat(info.duration()).isEqualTo(Duration.ofMillis(10_500));
        assertThat(info.hasVideo()).isFalse();
        assertThat(info.isVideo()).isFalse();
        assertThat(info.sizeBytes()).isEqualTo(Files.size(file));
        assertThat(info.describe()).isEqualTo("WAV audio pcm_s16le, 11s, 1.9 MiB");
    }

    @Test
    void estimatesCbrMp3DurationFromBitrateAndSize() throws IOException {
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz, stereo: 417-byte frames
        byte[] header = {(byte) 0xFF, (byte) 0xFB, (byte) 0x90, 0x00};
        Path file = dir.resolve("voice.mp3");
        Files.write(file, frames(header, 417, 100, null));

        MediaInfo info = probe.probe(file);

        assertThat(info.mimeType()).isEqualTo("audio/mpeg");
        assertThat(info.audioCodec()).isEqualTo("mp3");
        assertThat(info.duration()).isEqualTo(Duration.ofNanos(2_606_250_000L)); // 41700 B * 8 / 128000
    }

    @Test
    void readsExactMp3DurationFromAXingHeader() throws IOException {
        byte[] header = {(byte) 0xFF, (byte) 0xFB, (byte) 0x90, 0x00};
        ByteBuffer xing = ByteBuffer.allocate(12).put("Xing".getBytes(StandardCharsets.US_ASCII))
                .putInt(1).putInt(2000); // flags: frame count present; 2000 frames
        Path file = dir.resolve("voice.mp3");
        Files.write(file, frames(header, 417, 50, xing.array()));

        MediaInfo info = probe.probe(file);

        // 2000 frames * 1152 samples / 44100 Hz
        assertThat(info.duration()).isEqualTo(Duration.ofNanos(2000L * 1152 * 1_000_000_000L / 44_100));
    }

    @Test
    void recognisesOtherContainersWithoutADuration() throws IOException {
        Path file = dir.resolve("clip.bin");
        ByteBuffer ebml = ByteBuffer.allocate(1024)
                .put(new byte[] {0x1A, 0x45, (byte) 0xDF, (byte) 0xA3, (byte) 0x9F})
                .put(new byte[] {0x42, (byte) 0x82, (byte) 0x84}).put("webm".getBytes(StandardCharsets.US_ASCII));
        Files.write(file, ebml.array());

        MediaInfo info = probe.probe(file);

        assertThat(info).isEqualTo(new MediaInfo("video/webm", "WEBM", null, null, null, null, null, 1024));
        assertThat(info.describe()).isEqualTo("WEBM video, unknown duration, 1.0 KiB");
    }

    @Test
    void probesAOneGibFileWithoutLoadingTheMdat() {
        probe.probe(tinyFile()); // load Tika's and mp4parser's tables before measuring
        Path file = dir.resolve("master.mov");
        SyntheticVideo.writeMp4(file, Duration.ofMinutes(95), 1920, 1080, GIB);
        long before = usedHeapAfterGc();
        long ioBefore = processIoBytes();
        resetHeapPeaks();

        MediaInfo info = probe.probe(file);

        long peak = heapPeaks();
        long ioAfter = processIoBytes();
        long after = usedHeapAfterGc();
        assertThat(info).isEqualTo(new MediaInfo("video/mp4", "MP4", "h264", "aac",
                Duration.ofMinutes(95), 1920, 1080, GIB));
        // Reading the mdat into memory would need 1 GiB of heap...
        assertThat(peak - before).as("heap peak growth during probe").isLessThan(100 * MIB);
        assertThat(after - before).as("heap retained by probe").isLessThan(100 * MIB);
        // ...and a plain mp4parser IsoFile copies it to a temp file instead: 1 GiB of writes, no heap.
        // Only Linux counts a process's I/O in procfs; elsewhere the heap bounds above must do.
        if (ioBefore >= 0) {
            assertThat(ioAfter - ioBefore).as("bytes read and written during probe").isLessThan(64 * MIB);
        }
    }

    @Test
    void writesAndProbesAnMp4Beyond4GibWithALargesizeMdat() throws IOException {
        Path file = dir.resolve("huge.mp4");
        long total = 5 * GIB;
        SyntheticVideo.writeMp4(file, Duration.ofHours(3), 3840, 2160, total);

        MediaInfo info = probe.probe(file);

        assertThat(Files.size(file)).isEqualTo(total);
        assertThat(info).isEqualTo(new MediaInfo("video/mp4", "MP4", "h264", "aac",
                Duration.ofHours(3), 3840, 2160, total));
        ByteBuffer head;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            byte[] bytes = new byte[8192];
            raf.readFully(bytes);
            head = ByteBuffer.wrap(bytes);
        }
        int mdat = indexOf(head.array(), "mdat".getBytes(StandardCharsets.US_ASCII)) - 4;
        assertThat(head.getInt(mdat)).as("32-bit size 1 = largesize follows").isEqualTo(1);
        assertThat(head.getLong(mdat + 8)).isEqualTo(total - mdat);
    }

    @Test
    void writesTheMinimumWhenAskedForLess() {
        Path file = dir.resolve("small.mp4");
        SyntheticVideo.writeMp4(file, Duration.ofSeconds(5), 1280, 720, 0);

        MediaInfo info = probe.probe(file);

        assertThat(info.sizeBytes()).isBetween(500L, 2000L);
        assertThat(info.duration()).isEqualTo(Duration.ofSeconds(5));
        assertThat(info.width()).isEqualTo(1280);
    }

    @Test
    void rejectsAFileItCannotRead() throws Exception {
        Path file = dir.resolve("talk.mp4");
        Files.write(file, SyntheticVideo.tinyMp4(Duration.ofSeconds(3)));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        if (Files.isReadable(file)) {
            // root (as on CI) reads whatever the permissions say: probe it as nobody, in a JVM of its own
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            assertThat(probeAsNobody(file)).isEqualTo("rejected at PROBE: cannot read the file: permission denied");
            return;
        }
        assertRejected(file).hasMessage("cannot read the file: permission denied");
    }

    /**
     * What {@link ProbeAsAnotherUser} prints when run as uid/gid 65534 (setpriv, util-linux). The test
     * classpath's jars live in root's Maven repository, which nobody may enter: they are linked (or
     * copied) into a folder nobody can read first.
     */
    private Path nobodysClasspathDir() throws IOException {
        Path cp = Files.createDirectories(dir.resolve("classpath"));
        Files.setPosixFilePermissions(cp, PosixFilePermissions.fromString("rwxr-xr-x"));
        return cp;
    }

    private String probeAsNobody(Path file) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path cp = nobodysClasspathDir();
        java.util.List<String> entries = new java.util.ArrayList<>();
        int i = 0;
        for (String entry : classpath.split(java.io.File.pathSeparator)) {
            Path e = Path.of(entry);
            if (Files.isDirectory(e)) {
                entries.add(entry); // target/classes and target/test-classes: readable by all
            } else if (Files.isRegularFile(e)) {
                Path linked = cp.resolve((i++) + "-" + e.getFileName());
                try {
                    Files.createLink(linked, e);
                } catch (IOException | UnsupportedOperationException notSameDisk) {
                    Files.copy(e, linked);
                }
                entries.add(linked.toString());
            }
        }
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", javaBin,
                "-cp", String.join(java.io.File.pathSeparator, entries), ProbeAsAnotherUser.class.getName(), file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out.lines().filter(l -> l.startsWith("rejected") || l.startsWith("probed")).findFirst().orElse(out);
    }

    @Test
    void rejectsAMissingFileOrADirectory() {
        assertRejected(dir.resolve("gone.mp4"))
                .hasMessage("cannot read the file: it does not exist (moved or deleted?)");
        assertRejected(dir).hasMessage("cannot read the file: it is a directory");
    }

    // ------------------------------------------------------------------ helpers

    private AbstractThrowableAssert<?, ? extends Throwable> assertRejected(Path file) {
        return assertThatThrownBy(() -> probe.probe(file))
                .isInstanceOfSatisfying(JobRejectedException.class, e -> assertThat(e.stage()).isEqualTo(Stage.PROBE));
    }

    private Path tinyFile() {
        try {
            return Files.write(dir.resolve("tiny.mp4"), SyntheticVideo.tinyMp4(Duration.ofSeconds(1)));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A canonical 44-byte-header PCM WAV, plus an odd-sized LIST chunk so padding is exercised. */
    private static void writeWav(Path file, int sampleRate, int channels, int bits, int dataBytes)
            throws IOException {
        int blockAlign = channels * bits / 8;
        byte[] info = "INFOx".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer header = ByteBuffer.allocate(12 + 24 + 8 + info.length + 1 + 8).order(ByteOrder.LITTLE_ENDIAN);
        header.put(ascii("RIFF")).putInt(header.capacity() - 8 + dataBytes).put(ascii("WAVE"));
        header.put(ascii("fmt ")).putInt(16).putShort((short) 1).putShort((short) channels)
                .putInt(sampleRate).putInt(sampleRate * blockAlign).putShort((short) blockAlign)
                .putShort((short) bits);
        header.put(ascii("LIST")).putInt(info.length).put(info).put((byte) 0);
        header.put(ascii("data")).putInt(dataBytes);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(header.array());
            raf.setLength(header.capacity() + (long) dataBytes);
        }
    }

    /** {@code count} MPEG audio frames of {@code length} bytes; the first may carry a Xing tag after its side info. */
    private static byte[] frames(byte[] header, int length, int count, byte[] xing) {
        ByteBuffer out = ByteBuffer.allocate(length * count);
        for (int i = 0; i < count; i++) {
            out.position(i * length);
            out.put(header);
            if (i == 0 && xing != null) {
                out.position(4 + 32); // MPEG-1 stereo side info is 32 bytes
                out.put(xing);
            }
        }
        return out.array();
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }

    /** Bytes this JVM moved through read and write calls (Linux /proc/self/io), or -1 where unknown. */
    private static long processIoBytes() {
        Path io = Path.of("/proc/self/io");
        if (!Files.isReadable(io)) {
            return -1;
        }
        try (Stream<String> lines = Files.lines(io)) {
            return lines.filter(line -> line.startsWith("rchar:") || line.startsWith("wchar:"))
                    .mapToLong(line -> Long.parseLong(line.substring(6).trim()))
                    .sum();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long usedHeapAfterGc() {
        System.gc();
        Runtime runtime = Runtime.getRuntime();
        return runtime.totalMemory() - runtime.freeMemory();
    }

    private static void resetHeapPeaks() {
        heapPools().forEach(MemoryPoolMXBean::resetPeakUsage);
    }

    /** Sum of each heap pool's peak: an upper bound of the heap's own peak. */
    private static long heapPeaks() {
        return heapPools().stream().mapToLong(pool -> pool.getPeakUsage().getUsed()).sum();
    }

    private static List<MemoryPoolMXBean> heapPools() {
        return ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(pool -> pool.getType() == MemoryType.HEAP && pool.isValid())
                .toList();
    }
}
