-- SQL Server Agent job Housekeeping_Purge_DB_Logs (seed 003): daily at 03:45.
-- Runs the rendered procedures (stored_procedures/70_*, 80_*): the same purge targets as
-- `genepair housekeeping` (macros/housekeeping.sql). Replace GenePairDW with the database.
USE msdb;
GO
IF EXISTS (SELECT 1 FROM msdb.dbo.sysjobs WHERE name = N'Housekeeping_Purge_DB_Logs')
    EXEC msdb.dbo.sp_delete_job @job_name = N'Housekeeping_Purge_DB_Logs';
EXEC msdb.dbo.sp_add_job @job_name = N'Housekeeping_Purge_DB_Logs', @enabled = 1,
    @description = N'meta_*_log rows older than 180 days; staged rows of batches superseded over 7 days ago';
EXEC msdb.dbo.sp_add_jobstep @job_name = N'Housekeeping_Purge_DB_Logs', @step_name = N'purge logs',
    @subsystem = N'TSQL', @database_name = N'GenePairDW',
    @command = N'EXEC meta.sp_purge_logs @retain_days = 180;', @on_success_action = 3;
EXEC msdb.dbo.sp_add_jobstep @job_name = N'Housekeeping_Purge_DB_Logs', @step_name = N'purge staging',
    @subsystem = N'TSQL', @database_name = N'GenePairDW',
    @command = N'EXEC staging.sp_purge_staging @retain_days = 7;';
EXEC msdb.dbo.sp_add_schedule @schedule_name = N'daily_0345', @freq_type = 4, @freq_interval = 1,
    @active_start_time = 034500;
EXEC msdb.dbo.sp_attach_schedule @job_name = N'Housekeeping_Purge_DB_Logs', @schedule_name = N'daily_0345';
EXEC msdb.dbo.sp_add_jobserver @job_name = N'Housekeeping_Purge_DB_Logs';
GO
