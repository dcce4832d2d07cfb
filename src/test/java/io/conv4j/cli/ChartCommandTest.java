package io.conv4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The chart command against a small harness results file whose bar lengths are known. */
class ChartCommandTest {
    @TempDir Path dir;

    private static final String RESULTS = String.join("\n",
            "impl,threads,shape,median_ms,gflops,round,other_cores",
            "conv4j,1,a,1.0,100,1,0.01",
            "conv4j,1,a,2.0,50,2,0.01",     // worse round: the best (100) is kept
            "dnnl_java,1,a,1.0,40,1,0.9",   // every round disturbed: marked
            "conv4j,2,a,1.0,200,1,0.0",
            "dnnl_java,2,a,1.0,80,1,0.0",
            "conv4j,1,b,skipped,,1,0.0",
            "dnnl_java,1,b,1.0,20,1,0.0",
            "");

    private String[] run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new String[] {Integer.toString(status), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void barsAreProportionalToTheBestRoundAndTheSvgIsWellFormed() throws Exception {
        Path f = dir.resolve("r.csv");
        Files.writeString(f, RESULTS);
        String[] r = run("chart", f.toString());
        assertEquals("0", r[0], r[2]);
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(r[1].getBytes(StandardCharsets.UTF_8)));
        Map<String, Double> widths = new HashMap<>();
        NodeList rects = doc.getElementsByTagName("rect");
        for (int i = 0; i < rects.getLength(); i++) {
            Element e = (Element) rects.item(i);
            NodeList titles = e.getElementsByTagName("title");
            if (titles.getLength() == 1) widths.put(titles.item(0).getTextContent(), Double.parseDouble(e.getAttribute("width")));
        }
        assertEquals(5, widths.size(), widths.toString()); // the skipped cell has no bar
        double c1 = widths.get("conv4j, 1 thread(s), a: 100 GFLOP/s");
        double c2 = widths.get("conv4j, 2 thread(s), a: 200 GFLOP/s");
        double d1 = widths.get("dnnl_java, 1 thread(s), a: 40 GFLOP/s (disturbed)");
        assertEquals(2.0, c2 / c1, 0.01);
        assertEquals(0.4, d1 / c1, 0.01);
        assertTrue(r[1].contains(">skip</text>"), "skipped cell labelled");
        assertTrue(r[1].contains(">2 threads</text>") && r[1].contains(">1 thread</text>"));
    }

    @Test
    void implsSelectsAndOrdersPeers() throws Exception {
        Path f = dir.resolve("r.csv");
        Files.writeString(f, RESULTS);
        String[] r = run("chart", f.toString(), "--impls", "dnnl_java");
        assertEquals("0", r[0], r[2]);
        assertTrue(!r[1].contains("conv4j, 1 thread"), "conv4j left out");
        String[] bad = run("chart", f.toString(), "--impls", "torch_cpu");
        assertEquals("2", bad[0]);
        assertTrue(bad[2].contains("torch_cpu"), bad[2]);
    }

    @Test
    void badFilesGiveOneLineAndStatus2() throws Exception {
        assertEquals("2", run("chart")[0]);
        assertTrue(run("chart", dir.resolve("missing.csv").toString())[2].contains("not found"));
        Path f = dir.resolve("bad.csv");
        Files.writeString(f, "conv4j,one,a,1,2\n");
        String[] r = run("chart", f.toString());
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("bad.csv:1") && r[2].contains("threads"), r[2]);
        Files.writeString(f, "impl,threads,shape,median_ms,gflops\n");
        assertTrue(run("chart", f.toString())[2].contains("no result rows"));
    }

    @Test
    void axisEndsOnARoundNumber() {
        assertEquals(1, ChartCommand.niceCeiling(0), 0);
        assertEquals(200, ChartCommand.niceCeiling(187), 0);
        assertEquals(400, ChartCommand.niceCeiling(301), 0);
        assertEquals(1000, ChartCommand.niceCeiling(501), 0);
        assertEquals(0.5, ChartCommand.niceCeiling(0.42), 1e-12);
    }
}
