using EcgEdge.Evaluation;
using EcgEdge.Inference.Model;
using EcgEdge.Wfdb;

namespace EcgEdge.Tests.Evaluation;

public class TrainingMembershipTests
{
    [Fact]
    public void A_record_is_known_by_name_rate_length_and_first_checksum_as_tools_train_writes_it()
    {
        var header = WfdbHeader.Parse(Path.Combine(TestData.RepoRoot, "src", "EcgEdge", "Resources", "mitdb", "201.hea"));
        // tools/train/ecgnat/wfdb.py: signature() gives the same string for this header
        Assert.Equal("201/360/650000/-519", header.Signature);
    }

    [Fact]
    public void Each_record_says_which_parts_of_the_model_were_fitted_on_it()
    {
        var m = new TrainingMembership(new ModelManifest
        {
            TrainingRecords = new() { ["network"] = ["201/360/650000/-519"], ["rhythm_fusion"] = ["201/360/650000/-519", "n01/128/7680/-23572"] },
        });
        Assert.True(m.Known);
        Assert.Equal(["network", "rhythm_fusion"], m.PartsTrainedOn("201/360/650000/-519"));
        Assert.Equal(["rhythm_fusion"], m.PartsTrainedOn("n01/128/7680/-23572"));
        Assert.Empty(m.PartsTrainedOn("202/360/650000/1")!);
        Assert.Equal("network+rhythm_fusion", TrainingMembership.Cell(m.PartsTrainedOn("201/360/650000/-519")));
        Assert.Equal("no", TrainingMembership.Cell([]));
        Assert.Contains("1 of these 2 records were used", m.Summary([m.PartsTrainedOn("201/360/650000/-519"), m.PartsTrainedOn("x/1/1/1")]), StringComparison.Ordinal);

        var unknown = new TrainingMembership(new ModelManifest());
        Assert.False(unknown.Known);
        Assert.Null(unknown.PartsTrainedOn("201/360/650000/-519"));
        Assert.Equal("?", TrainingMembership.Cell(null));
        Assert.Contains("unknown", unknown.Summary([null]), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void The_shipped_model_counts_QTDB_excerpts_of_its_MIT_BIH_training_patients_as_training_data()
    {
        // sel223 is 15 minutes of MIT-BIH 223 resampled to 250 Hz: a figure on it is a figure on a training patient.
        var qtdb = TestData.Require("qtdb");
        var m = new TrainingMembership(ModelManifest.Read(Path.Combine(TestData.RepoRoot, "models", "ecg-nat.manifest.json")));
        foreach (var rec in new[] { "sel114", "sel116", "sel223", "sel230" })
            Assert.Contains("network", m.PartsTrainedOn(WfdbHeader.Parse(Path.Combine(qtdb, rec + ".hea")).Signature)!);
        // an excerpt of a database the network never trained on (the MIT-BIH Supraventricular Arrhythmia DB)
        Assert.DoesNotContain("network", m.PartsTrainedOn(WfdbHeader.Parse(Path.Combine(qtdb, "sel803.hea")).Signature)!);
    }
}
