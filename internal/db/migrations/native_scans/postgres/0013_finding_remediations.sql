-- Findings of one check repeat its remediation: 547 of a row's 1,249
-- bytes for generated Prowler findings, written again with every finding,
-- in the table and its WAL. Each team keeps each distinct remediation once,
-- named by its SHA-256 (hex), and a finding points at it. (Descriptions
-- stay: Prowler's name the resource.)
CREATE TABLE finding_remediations (
    id          BIGSERIAL PRIMARY KEY,
    team_id     TEXT NOT NULL,
    text_hash   TEXT NOT NULL,
    remediation TEXT NOT NULL
);
CREATE UNIQUE INDEX finding_remediations_team_hash ON finding_remediations(team_id, text_hash);
INSERT INTO finding_remediations (team_id, text_hash, remediation)
SELECT DISTINCT team_id, encode(sha256(convert_to(remediation, 'UTF8')), 'hex'), remediation FROM findings;
ALTER TABLE findings ADD COLUMN remediation_id BIGINT;
UPDATE findings f SET remediation_id = r.id FROM finding_remediations r
WHERE r.team_id = f.team_id AND r.text_hash = encode(sha256(convert_to(f.remediation, 'UTF8')), 'hex');
ALTER TABLE findings DROP COLUMN remediation;

-- cspm:team-isolation finding_remediations
