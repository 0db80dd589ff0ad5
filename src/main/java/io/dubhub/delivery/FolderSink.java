package io.dubhub.delivery;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** outbox/<dir>/: files are renamed in from data/.work, job.json via a temp name and a rename. */
record FolderSink(Path folder, Path work) implements JobSink {

    @Override
    public String describe() {
        return "outbox/" + folder.getFileName();
    }

    @Override
    public boolean holds(String relative, long bytes) {
        try {
            return Files.size(folder.resolve(relative)) == bytes;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void put(String relative, Path complete) throws IOException {
        Path target = folder.resolve(relative);
        Files.createDirectories(target.getParent());
        SourceArchive.moveAtomically(complete, target);
    }

    @Override
    public void writeManifest(byte[] json) throws IOException {
        Files.createDirectories(folder);
        Files.createDirectories(work);
        Path tmp = work.resolve("job.json.tmp");
        Files.write(tmp, json);
        SourceArchive.moveAtomically(tmp, folder.resolve("job.json"));
    }
}
