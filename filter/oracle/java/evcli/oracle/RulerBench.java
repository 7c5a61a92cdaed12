package evcli.oracle;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import software.amazon.event.ruler.Machine;

/**
 * The event-ruler side of evcli's side-by-side benchmark (filter/oracle/bench.sh,
 * TestVsRuler in package filter). It takes one command a line on stdin and
 * answers one line on stdout, so the Go side can alternate passes of both
 * engines over the same events in one run:
 *
 * <pre>
 *   events PATH   load NDJSON events, one per line          -> "ok N"
 *   rules PATH    a new Machine with the rules of PATH, one  -> "ok NANOS"
 *                 a line, named by their 0-based line number
 *   run           one pass of rulesForJSONEvent over every   -> "MATCHES WALL_NS CPU_NS"
 *                 event; MATCHES sums the sizes of the answers,
 *                 CPU_NS is the process's CPU time (JIT and GC threads included)
 * </pre>
 *
 * The Machine is the default one, as EventBridge configures none, and events
 * go in as the String the service would hand over (rulesForJSONEvent(String),
 * as event-ruler's own CityLots2JmhBenchmarks). Warming up is the caller's
 * business: it runs passes it does not count.
 */
public final class RulerBench {
    public static void main(String[] args) throws Exception {
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        String[] events = new String[0];
        String eventsPath = "";
        Machine machine = new Machine();
        String line;
        while ((line = in.readLine()) != null) {
            String reply;
            try {
                if (line.startsWith("events ")) {
                    String p = line.substring(7);
                    if (!p.equals(eventsPath)) {
                        events = null; // let the previous set go before reading the next
                        List<String> l = new ArrayList<>();
                        try (BufferedReader r = Files.newBufferedReader(Path.of(p), StandardCharsets.UTF_8)) {
                            String e;
                            while ((e = r.readLine()) != null) {
                                if (!e.isEmpty()) {
                                    l.add(e);
                                }
                            }
                        }
                        events = l.toArray(new String[0]);
                        eventsPath = p;
                    }
                    reply = "ok " + events.length;
                } else if (line.startsWith("rules ")) {
                    long t0 = System.nanoTime();
                    machine = new Machine();
                    int i = 0;
                    for (String r : Files.readAllLines(Path.of(line.substring(6)), StandardCharsets.UTF_8)) {
                        if (!r.isEmpty()) {
                            machine.addRule(Integer.toString(i), r);
                        }
                        i++;
                    }
                    reply = "ok " + (System.nanoTime() - t0);
                } else if (line.equals("run")) {
                    long matches = 0;
                    long cpu0 = os.getProcessCpuTime();
                    long t0 = System.nanoTime();
                    for (String e : events) {
                        matches += machine.rulesForJSONEvent(e).size();
                    }
                    long wall = System.nanoTime() - t0;
                    long cpu = os.getProcessCpuTime() - cpu0;
                    reply = matches + " " + wall + " " + cpu;
                } else if (line.equals("quit")) {
                    break;
                } else {
                    reply = "error unknown command: " + line;
                }
            } catch (Throwable t) {
                reply = "error " + t.toString().replace('\n', ' ');
            }
            out.write(reply);
            out.write('\n');
            out.flush();
        }
        out.flush();
    }
}
