# Synthetic CDF JSON deck: N ballots, 6 candidates, up to 4 ranks, seeded.
import json, random, sys
N = int(sys.argv[1]); random.seed(5)
cands = [f"Candidate {c}" for c in "ABCDEF"]
with open("deck_cvr.json", "w") as f:
    f.write('{"@type":"CVR.CastVoteRecordReport","CVR":[')
    for i in range(N):
        k = random.randint(0, 4)
        picks = random.sample(range(6), k)
        sels = ",".join('{"@type":"CVR.CVRContestSelection","ContestSelectionId":"cs-%d","SelectionPosition":[{"@type":"CVR.SelectionPosition","HasIndication":"yes","IsAllocable":"unknown","NumberVotes":1,"Rank":%d}]}' % (c, r + 1) for r, c in enumerate(picks))
        f.write(('' if i == 0 else ',') + '{"@type":"CVR","BallotPrePrintedId":"%d","CurrentSnapshotId":"s%d","CVRSnapshot":[{"@id":"s%d","@type":"CVR.CVRSnapshot","Type":"original","CVRContest":[{"@type":"CVR.CVRContest","ContestId":"contest-1","CVRContestSelection":[%s]}]}],"ElectionId":"e"}' % (i, i, i, sels))
    f.write('],"Election":[{"@id":"e","@type":"CVR.Election","ElectionScopeId":"g","Candidate":[%s],"Contest":[{"@id":"contest-1","@type":"CVR.CandidateContest","Name":"Synthetic","ContestSelection":[%s]}]}],"GpUnit":[{"@id":"g","@type":"CVR.GpUnit","Name":"Synthetic","Type":"other"}],"Version":"1.0.3"}' % (
        ",".join('{"@id":"c-%d","Name":"%s"}' % (j, n) for j, n in enumerate(cands)),
        ",".join('{"@id":"cs-%d","@type":"CVR.CandidateSelection","CandidateIds":["c-%d"]}' % (j, j) for j in range(6))))
cfg = {"tabulatorVersion": "TEST", "outputSettings": {"contestName": "Synthetic 5M", "outputDirectory": "output", "contestDate": "", "contestJurisdiction": "", "contestOffice": "", "tabulateByBatch": False, "tabulateByPrecinct": False, "generateCdfJson": False},
       "cvrFileSources": [{"filePath": "deck_cvr.json", "contestId": "Synthetic", "provider": "cdf", "overvoteLabel": "", "skippedRankLabel": "", "undeclaredWriteInLabel": "", "treatBlankAsUndeclaredWriteIn": False}],
       "candidates": [{"name": n, "excluded": False, "aliases": []} for n in cands],
       "rules": {"tiebreakMode": "random", "overvoteRule": "exhaustImmediately", "winnerElectionMode": "singleWinnerMajority", "randomSeed": "5", "numberOfWinners": "1", "multiSeatBottomsUpPercentageThreshold": "", "decimalPlacesForVoteArithmetic": "4", "minimumVoteThreshold": "0", "maxSkippedRanksAllowed": "unlimited", "maxRankingsAllowed": "max", "nonIntegerWinningThreshold": False, "doesFirstRoundDetermineThreshold": False, "hareQuota": False, "batchElimination": False, "continueUntilTwoCandidatesRemain": False, "stopTabulationEarlyAfterRound": "", "exhaustOnDuplicateCandidate": False}}
json.dump(cfg, open("deck_config.json", "w"), indent=1)
