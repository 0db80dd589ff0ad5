package io.dubhub.media;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * What {@link MediaProbe} found out about a file, from its content. Codecs, duration and size
 * are null when the container is recognised but not parsed (webm, avi, ...).
 *
 * @param mimeType   the detected type, e.g. {@code video/mp4}, {@code audio/vnd.wave}
 * @param container  short operator-facing name, e.g. {@code MP4}, {@code MOV}, {@code WAV}
 * @param videoCodec e.g. {@code h264}, {@code h265}, or the sample entry's 4cc
 * @param audioCodec e.g. {@code aac}, {@code mp3}, {@code pcm_s16le}
 * @param sizeBytes  the file size on disk
 */
public record MediaInfo(String mimeType, String container, String videoCodec, String audioCodec,
        Duration duration, Integer width, Integer height, long sizeBytes) {

    public MediaInfo {
        Objects.requireNonNull(mimeType, "mimeType");
    }

    public boolean hasVideo() {
        return videoCodec != null || width != null;
    }

    public boolean hasAudio() {
        return audioCodec != null;
    }

    public boolean isVideo() {
        return mimeType.startsWith("video/");
    }

    /** One line for logs, error.json and the job API: "MP4 video h264/aac 1280x720, 2m05s, 12.3 MiB". */
    public String describe() {
        StringJoiner head = new StringJoiner(" ");
        head.add(container != null ? container : mimeType);
        head.add(hasVideo() || (!hasAudio() && isVideo()) ? "video" : "audio");
        String codecs = codecs();
        if (!codecs.isEmpty()) {
            head.add(codecs);
        }
        if (width != null && height != null) {
            head.add(width + "x" + height);
        }
        return head + ", " + (duration != null ? formatDuration(duration) : "unknown duration")
                + ", " + formatSize(sizeBytes);
    }

    private String codecs() {
        StringJoiner codecs = new StringJoiner("/");
        if (videoCodec != null) {
            codecs.add(videoCodec);
        }
        if (audioCodec != null) {
            codecs.add(audioCodec);
        }
        return codecs.toString();
    }

    static String formatDuration(Duration duration) {
        if (duration.compareTo(Duration.ofSeconds(1)) < 0) {
            return duration.toMillis() + "ms";
        }
        long seconds = duration.plusMillis(500).getSeconds(); // rounded to the nearest second
        long hours = seconds / 3600;
        long minutes = seconds % 3600 / 60;
        long secs = seconds % 60;
        if (hours > 0) {
            return String.format(Locale.ROOT, "%dh%02dm%02ds", hours, minutes, secs);
        }
        if (minutes > 0) {
            return String.format(Locale.ROOT, "%dm%02ds", minutes, secs);
        }
        return secs + "s";
    }

    static String formatSize(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
